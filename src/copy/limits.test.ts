import {describe, expect, it} from 'vitest'
import {IntegrityError, LimitError} from '../errors.js'
import {MAX_BLOB_BYTES, MAX_GRAPH_DEPTH, checkChildren} from './limits.js'

const INDEX = 'application/vnd.oci.image.index.v1+json'
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'
const parent = {mediaType: INDEX, digest: `sha256:${'a'.repeat(64)}`, size: 100}

describe('graph limits', () => {
  it('lets a manifest sit at MAX_GRAPH_DEPTH, not below it', () => {
    const child = {mediaType: INDEX, digest: `sha256:${'b'.repeat(64)}`, size: 100}
    expect(() => checkChildren([child], parent, MAX_GRAPH_DEPTH - 1)).not.toThrow()
    expect(() => checkChildren([child], parent, MAX_GRAPH_DEPTH)).toThrow(LimitError)
  })

  it('refuses a blob declaring more than MAX_BLOB_BYTES, naming it and its size', () => {
    const ok = {mediaType: LAYER, digest: `sha256:${'c'.repeat(64)}`, size: MAX_BLOB_BYTES}
    const huge = {mediaType: LAYER, digest: `sha256:${'d'.repeat(64)}`, size: 2 ** 49}
    expect(() => checkChildren([ok], parent, 1)).not.toThrow()
    expect(() => checkChildren([huge], parent, 1)).toThrow(IntegrityError)
    expect(() => checkChildren([huge], parent, 1)).toThrow(`layer sha256:${'d'.repeat(64)} declares 562949953421312 bytes (512 TiB), more than the 1 TiB`)
  })
})
