#!/usr/bin/env node
/**
 * The receiving registry's ingest limit (bench support): the smallest client that can put the same
 * blobs into a registry. Every blob file of a distribution registry's storage (`--from` = its
 * root directory) goes into `--registry` as one monolithic upload (POST, then one PUT with the
 * file as body and `?digest=`), `--parallel` at once, nothing hashed or checked on this side.
 *
 *   node ingest.mjs --registry 127.0.0.1:5001 --from DATA_DIR [--parallel 4] [--repo bench/ingest]
 */
import {createReadStream} from 'node:fs'
import {readdir, stat} from 'node:fs/promises'
import {Agent, request} from 'node:http'
import {join} from 'node:path'
import {parseArgs} from 'node:util'

const {values} = parseArgs({options: {registry: {type: 'string'}, from: {type: 'string'}, parallel: {type: 'string', default: '4'}, repo: {type: 'string', default: 'bench/ingest'}}})
const agent = new Agent({keepAlive: true, maxSockets: Number(values.parallel)})
const [host, port] = values.registry.split(':')

function call(method, path, headers = {}, body) {
  return new Promise((resolve, reject) => {
    const req = request({host, port: Number(port), method, path, headers, agent}, (res) => {
      res.resume()
      res.on('end', () => resolve(res))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (body) body.pipe(req)
    else req.end()
  })
}

async function blobs(root) {
  const base = join(root, 'docker', 'registry', 'v2', 'blobs', 'sha256')
  const out = []
  for (const prefix of await readdir(base)) {
    for (const hex of await readdir(join(base, prefix))) {
      const file = join(base, prefix, hex, 'data')
      out.push({digest: `sha256:${hex}`, file, size: (await stat(file)).size})
    }
  }
  return out.sort((a, b) => b.size - a.size)
}

async function upload({digest, file, size}) {
  const started = await call('POST', `/v2/${values.repo}/blobs/uploads/`, {'content-length': '0'})
  if (started.statusCode !== 202) throw new Error(`POST upload: ${started.statusCode}`)
  const location = new URL(started.headers.location, `http://${values.registry}`)
  location.searchParams.set('digest', digest)
  const put = await call('PUT', `${location.pathname}${location.search}`, {'content-length': String(size), 'content-type': 'application/octet-stream'}, createReadStream(file, {highWaterMark: 1024 * 1024}))
  if (put.statusCode !== 201) throw new Error(`PUT ${digest}: ${put.statusCode}`)
}

const list = await blobs(values.from)
let next = 0
await Promise.all(Array.from({length: Number(values.parallel)}, async () => {
  while (next < list.length) await upload(list[next++])
}))
agent.destroy()
process.stdout.write(JSON.stringify({blobs: list.length, bytes: list.reduce((s, b) => s + b.size, 0)}) + '\n')
