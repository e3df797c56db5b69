#!/usr/bin/env node
// Part of `npm run build` (after tsc): writes dist/airgap.cjs (the whole CLI in one file, see
// bundle.mjs) and its V8 code cache dist/airgap.cjs.v8cache, made by running `airgap demo` once
// through bin/run.js (pull, verify, push, check, rewrite: the functions that run are compiled and
// kept in the cache). bin/run.js starts from these two files.
import {execFileSync} from 'node:child_process'
import {rmSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {ROOT, bundleCli} from './bundle.mjs'

const started = Date.now()
const outfile = join(ROOT, 'dist', 'airgap.cjs')
const cacheFile = `${outfile}.v8cache`
rmSync(cacheFile, {force: true})
const {inputs} = await bundleCli({kind: 'dist', outfile})
execFileSync(process.execPath, [join(ROOT, 'bin', 'run.js'), 'demo', '--json'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {...process.env, AIRGAP_WRITE_CODE_CACHE: '1', AIRGAP_NO_BUNDLE: '', NODE_OPTIONS: ''},
})
const mib = (f) => (statSync(f).size / 1024 / 1024).toFixed(1)
console.log(`${relative(ROOT, outfile)}: ${mib(outfile)} MiB, ${inputs} modules; code cache ${mib(cacheFile)} MiB (${((Date.now() - started) / 1000).toFixed(1)} s)`)
