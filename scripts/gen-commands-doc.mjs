#!/usr/bin/env node
// Writes docs/COMMANDS.md from the built CLI's own --help, so the reference never drifts from the
// code. Run after `npm run build`: `node scripts/gen-commands-doc.mjs`.
import {execFileSync} from 'node:child_process'
import {readdirSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const commandsDir = join(root, 'dist', 'commands')
const ids = []
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path)
    else if (name.endsWith('.js')) ids.push(relative(commandsDir, path).replace(/\.js$/, '').split('/').join(' '))
  }
}
walk(commandsDir)
const help = (id) =>
  execFileSync(process.execPath, [join(root, 'bin', 'run.js'), ...id.split(' '), '--help'], {env: {...process.env, COLUMNS: '100'}, encoding: 'utf8'})
const parts = ['# Command reference', '', 'Generated from `airgap COMMAND --help` by `scripts/gen-commands-doc.mjs`; do not edit by hand.', '']
for (const id of ids) parts.push(`## airgap ${id}`, '', '```', help(id).trimEnd(), '```', '')
writeFileSync(join(root, 'docs', 'COMMANDS.md'), `${parts.join('\n')}\n`)
console.log(`docs/COMMANDS.md: ${ids.length} commands`)
