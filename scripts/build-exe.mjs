#!/usr/bin/env node
// `npm run build:exe`: builds dist/airgap-linux-x64, a Node single executable application (SEA)
// that runs the whole CLI with no node_modules and no network.
//
//   1. scripts/single-file/bundle.mjs bundles the CLI (entry, every command in commands/, @oclif/core and
//      all dependencies) into ONE CommonJS file, as for dist/airgap.cjs;
//   2. `node --experimental-sea-config` turns it into a preparation blob (with a V8 code cache);
//   3. a copy of this very `node` binary gets the blob injected with postject (sentinel fuse).
// Then it smoke-tests the result (`--version`) and writes dist/airgap-linux-x64.sha256.
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {inject} from 'postject'
import {ROOT as root, bundleCli} from './single-file/bundle.mjs'

const outDir = join(root, 'dist', 'sea')
const exeName = `airgap-${process.platform}-${process.arch}`
const exe = join(root, 'dist', exeName)
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'

function seaBlob(main) {
  const blob = join(outDir, 'airgap.blob')
  const configFile = join(outDir, 'sea-config.json')
  writeFileSync(configFile, JSON.stringify({main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true}, null, 2))
  execFileSync(process.execPath, ['--experimental-sea-config', configFile], {stdio: ['ignore', 'ignore', 'inherit']})
  return blob
}

async function injectBlob(blob) {
  rmSync(exe, {force: true})
  copyFileSync(process.execPath, exe)
  chmodSync(exe, 0o755)
  await inject(exe, 'NODE_SEA_BLOB', readFileSync(blob), {sentinelFuse: FUSE})
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

const started = Date.now()
mkdirSync(outDir, {recursive: true})
const {outfile, inputs, commands} = await bundleCli({kind: 'sea', outfile: join(outDir, 'airgap.cjs')})
await injectBlob(seaBlob(outfile))
const version = execFileSync(exe, ['--version'], {encoding: 'utf8', env: {...process.env, NODE_OPTIONS: ''}}).trim()
const digest = sha256(exe)
writeFileSync(`${exe}.sha256`, `${digest}  ${exeName}\n`)
const mb = (statSync(exe).size / 1024 / 1024).toFixed(1)
console.log(`${relative(root, exe)}: ${mb} MiB, ${inputs} modules, commands: ${commands.join(', ')}`)
console.log(`  ${version}`)
console.log(`  sha256 ${digest} (${relative(root, exe)}.sha256), built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
