#!/usr/bin/env node
/**
 * `npm run statecharts`: writes each machine's statechart as Mermaid to
 * `docs/statecharts/<id>.mmd` (or the directory given as the first argument), the
 * offline view of the machines (DESIGN.md §1). test/statecharts/export.test.ts fails when
 * the committed files no longer match the machines.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { machineCharts } from './machines.js';

/** The files to write: name → Mermaid text. */
export function statechartFiles(): Record<string, string> {
  return Object.fromEntries(Object.entries(machineCharts()).map(([id, { mermaid }]) => [`${id}.mmd`, mermaid]));
}

export function exportStatecharts(directory: string): string[] {
  mkdirSync(directory, { recursive: true });
  return Object.entries(statechartFiles()).map(([name, text]) => {
    const file = join(directory, name);
    writeFileSync(file, text);
    return file;
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  for (const file of exportStatecharts(resolve(process.argv[2] ?? 'docs/statecharts'))) process.stdout.write(`${file}\n`);
}
