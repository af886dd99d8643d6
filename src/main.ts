#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs, USAGE, type CliOptions } from './cli/args.js';
import { startInspection } from './inspect/inspector.js';
import { configuredSecrets } from './config/secrets.js';
import { ConfigError } from './config/config-error.js';
import { loadConfig, releaseConfigValidator } from './config/load.js';
import { createLogger } from './log/logger.js';
import { startOptimizer } from './optimizer.js';
import { StoreError } from './store/open-store.js';
import { applyHeapGrowth } from './runtime/heap-growth.js';

/** The local inspector relay's port unless `--inspect-port` says otherwise. */
const DEFAULT_INSPECT_PORT = 8090;

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
    releaseConfigValidator();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  applyHeapGrowth(config.runtime.heapGrowingPercent);
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
  if (args.inspect) inspect = await startInspector(args, logger, configuredSecrets(config, process.env));

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

/** `--inspect`: the Stately inspector (src/inspect/). A failure to start it is logged; the optimizer runs without it. */
async function startInspector(args: CliOptions, logger: ReturnType<typeof createLogger>, secrets: string[]) {
  try {
    const inspection = await startInspection({ relayPort: args.inspectPort ?? DEFAULT_INSPECT_PORT, secrets, ...(args.inspectUrl !== undefined ? { url: args.inspectUrl } : {}) });
    const where = inspection.relay ? `open ${inspection.relay.pageUrl} to watch the actors` : `sending to ${inspection.url}`;
    logger.info({ event: 'inspector.started', url: inspection.url, page: inspection.relay?.pageUrl }, `Stately inspector: ${where}`);
    return inspection.inspect;
  } catch (error) {
    logger.error({ err: error }, '--inspect failed to start the Stately inspector; running without it');
    return undefined;
  }
}

void main();
