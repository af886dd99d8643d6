#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs, USAGE } from './cli/args.js';
import { ConfigError } from './config/config-error.js';
import { loadConfig } from './config/load.js';
import { createLogger } from './log/logger.js';
import { startOptimizer } from './optimizer.js';
import { StoreError } from './store/open-store.js';

/** Exit codes: 0 clean stop, 1 crashed (the supervision tree gave up), 2 bad flags or config. */
async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (args.version) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return;
  }

  let config;
  try {
    config = loadConfig(args);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.log.level });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled rejection');
    process.exit(1);
  });

  let inspect;
  if (args.inspect) inspect = await startInspector(logger);

  let optimizer;
  try {
    optimizer = await startOptimizer({ config, logger, ...(inspect ? { inspect } : {}) });
  } catch (error) {
    if (error instanceof StoreError) {
      logger.fatal({ path: error.path }, error.message);
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    logger.fatal({ err: error }, 'the optimizer failed to start');
    process.exit(1);
  }

  void optimizer.failed.then(() => process.exit(1));
  let signalled = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger.info({ event: 'server.draining', signal, graceMs: config.server.shutdownGraceMs }, 'draining');
    optimizer.stop().then(
      () => {
        logger.info({ event: 'server.stopped' }, 'stopped');
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.fatal({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

/** `--inspect`: the Stately inspector (optional dependency `@statelyai/inspect`). */
async function startInspector(logger: ReturnType<typeof createLogger>) {
  try {
    const { createWebSocketInspector } = (await import('@statelyai/inspect' as string)) as {
      createWebSocketInspector: (options?: { url?: string }) => { inspect: (event: unknown) => void };
    };
    const inspector = createWebSocketInspector();
    logger.info('Stately inspector connected: open https://stately.ai/inspect to watch the actors');
    return inspector.inspect;
  } catch (error) {
    logger.error({ err: error }, '--inspect needs the optional package @statelyai/inspect (npm install @statelyai/inspect)');
    return undefined;
  }
}

void main();
