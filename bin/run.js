#!/usr/bin/env node
// Starts the CLI. `npm run build` writes the whole CLI as one CommonJS file, dist/airgap.cjs, and a
// V8 code cache for it (dist/airgap.cjs.v8cache, made by running `airgap demo` once): compiling
// from that cache takes a fraction of the time Node needs to resolve, read and compile ~500 modules
// one by one, which is most of a short command (a repeat push, verify of a small bundle). The cache
// is used only when it was made from these exact bundle bytes (it starts with their SHA-256) and by
// this Node and V8 flags (V8 checks that itself and falls back to compiling). Without the bundle, or
// with AIRGAP_NO_BUNDLE=1, the CLI runs from the compiled module tree in dist/ (as in development).
// CommonJS (bin/package.json), because an ES module entry costs Node a few ms more to start.
'use strict'
const {isAscii} = require('node:buffer')
const {createHash} = require('node:crypto')
const {readFileSync, renameSync, writeFileSync} = require('node:fs')
const {createRequire} = require('node:module')
const {join} = require('node:path')
const {setFlagsFromString} = require('node:v8')
const {Script} = require('node:vm')

// The young generation stays at its initial size (two 1 MiB semi-spaces) instead of growing to 2 x
// 16 MiB: a transfer allocates little that lives, but at disk speed its socket buffers wait long
// enough to survive a few scavenges, and V8 grows the new space for them. Measured on the bench's
// 8 GiB release set: peak RSS of a pull 157-171 MiB with growth, 138 MiB without, at the same speed;
// rendering the W&B chart takes the same time. (--max-semi-space-size would say this better, but
// V8 reads it only when the heap is made, before any script runs; this factor is read each time the
// new space would grow.) Set for every command, before compiling, as the code cache expects.
setFlagsFromString('--semi-space-growth-factor=1')

const dist = join(__dirname, '..', 'dist')
const file = join(dist, 'airgap.cjs')
let bytes
if (process.env.AIRGAP_NO_BUNDLE !== '1') {
  try {
    bytes = readFileSync(file)
  } catch {
    // no bundle: run the module tree below
  }
}

if (bytes === undefined) {
  // The package root (not this folder: its package.json only sets the module type).
  require('@oclif/core').execute({dir: join(__dirname, '..')})
} else {
  // Set before compiling: V8 flags are part of what a code cache must match (src/http/undici.ts sets
  // the same flag; see there why).
  setFlagsFromString('--liftoff-only')
  const cacheFile = `${file}.v8cache`
  // The bundler writes ASCII only: Latin-1 is then the same text, without UTF-8 decoding.
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8')
  const sourceHash = createHash('sha256').update(bytes).digest()
  let cachedData
  try {
    const cache = readFileSync(cacheFile)
    if (cache.subarray(0, 32).equals(sourceHash)) cachedData = cache.subarray(32)
  } catch {
    // no cache: compile
  }
  // The CommonJS module wrapper, as Node's own loader writes it.
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${source}\n});`
  let script
  try {
    script = new Script(wrapped, {filename: file, ...(cachedData ? {cachedData} : {})})
  } catch (err) {
    process.stderr.write(
      `airgap: cannot load ${file} (${err.name}: ${err.message}); the installation is damaged. ` +
        'Install airgap again (in a checkout: npm run build), or run it from the module tree with AIRGAP_NO_BUNDLE=1.\n',
    )
    process.exit(70)
  }
  if (process.env.AIRGAP_WRITE_CODE_CACHE === '1') {
    // Only the build does this (scripts/single-file/build.mjs), after a representative run: the cache
    // then holds every function that run compiled. Written whole or not at all.
    process.once('exit', () => {
      writeFileSync(`${cacheFile}.tmp`, Buffer.concat([sourceHash, script.createCachedData()]))
      renameSync(`${cacheFile}.tmp`, cacheFile)
    })
  }
  const bundle = {exports: {}}
  script.runInThisContext()(bundle.exports, createRequire(file), bundle, file, dist)
}
