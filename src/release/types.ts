/**
 * The normalised release spec: what `airgap pull` / `airgap images` carry across the air gap.
 * Produced by parseSpec (our `airgap.yaml`) and parseChannelResponse (the W&B deploy server).
 * Secrets never appear as plain enumerable data: passwords are named by environment variable or
 * held in a Secret, which serialises as "[REDACTED]".
 */
import {inspect} from 'node:util'
import type {Platform} from '../oci/types.js'
import type {InputFileKind} from '../files/input-file.js'

export const SPEC_API_VERSION = 'airgap.dev/v1alpha1'
export const SPEC_KIND = 'ReleaseSpec'
/** Largest spec or channel document accepted, in bytes. */
export const MAX_SPEC_BYTES = 1024 * 1024
/** Largest number of YAML alias expansions accepted (guards against "billion laughs"). */
export const MAX_ALIAS_COUNT = 100

/** A spec file (`airgap.yaml`) or a saved channel response, as read from disk. */
export const SPEC_FILE: InputFileKind = {
  what: 'spec file',
  maxBytes: MAX_SPEC_BYTES,
  refusal: 'input',
  hint: 'check the path; write a spec like manifests/minimal.yaml, or pass a saved channel response',
}

/** A secret value held in memory only: JSON, YAML and util.inspect show "[REDACTED]". */
export class Secret {
  readonly #value: string
  constructor(value: string) {
    this.#value = value
  }
  /** The plain value, for the one place that needs it (an Authorization header). */
  reveal(): string {
    return this.#value
  }
  toJSON(): string {
    return '[REDACTED]'
  }
  toString(): string {
    return '[REDACTED]'
  }
  [inspect.custom](): string {
    return 'Secret([REDACTED])'
  }
}

/** How to authenticate to a chart repository or OCI registry. */
export interface ChartAuth {
  username?: string
  /** Name of the environment variable that holds the password (our spec never holds passwords). */
  passwordEnv?: string
  /** A password known in memory only (from a channel response); never serialised. */
  password?: Secret
}

interface ChartCommon {
  /** Values files, resolved to absolute paths (relative ones against the spec file's folder). */
  values: string[]
  /** Inline values merged over the values files (Helm `--set`-like, but a tree). */
  set: Record<string, unknown>
  auth?: ChartAuth
  /** CA bundle (absolute path) for the chart repository / registry. */
  caFile?: string
}

/** A chart in a classic Helm repository (index.yaml). */
export interface RepoChartSource extends ChartCommon {
  type: 'repo'
  name: string
  /** Repository base URL, http(s). */
  repo: string
  /** Exact version or SemVer range; absent = the newest stable version at pull time (the bundle's lock pins it). */
  version?: string
}

/** A chart stored as an OCI artifact: `oci://host/path/name`. */
export interface OciChartSource extends ChartCommon {
  type: 'oci'
  /** `oci://host/path/name` without tag. */
  oci: string
  /** Exact version (tag); absent = the newest stable SemVer tag at pull time (the bundle's lock pins it). */
  version?: string
  plainHttp?: boolean
}

/** A chart on disk: a directory or a `.tgz`. */
export interface PathChartSource extends ChartCommon {
  type: 'path'
  /** Absolute path (relative ones are resolved against the spec file's folder). */
  path: string
}

export type ChartSource = RepoChartSource | OciChartSource | PathChartSource

export interface ReleaseSpec {
  apiVersion: typeof SPEC_API_VERSION
  kind: typeof SPEC_KIND
  metadata: {name: string; version?: string; annotations?: Record<string, string>}
  spec: {
    /** Platforms to keep from multi-platform images, normalised (`linux/aarch64` -> linux/arm64); empty = all. */
    platforms: Platform[]
    /** Carry images of components the values disable (default true). */
    includeDisabled: boolean
    charts: ChartSource[]
    /** Extra images, normalised full references (`docker.io/library/busybox:1.36`). */
    images: string[]
    /** Globs on normalised references to leave out. */
    exclude: string[]
    /** A W&B release for the v2 operator: its server manifest and operator chart (issue 17). */
    wandb?: WandbRelease
  }
  /** Where the spec came from, for messages ("airgap.yaml", "https://deploy.wandb.ai/…"). */
  origin: string
}

/** The default repository of the W&B v2 server manifest (the operator's DefaultManifestRepository). */
export const DEFAULT_WANDB_MANIFEST_REPOSITORY = 'oci://us-docker.pkg.dev/wandb-production/public/wandb/server-manifest'
/** Where the W&B v2 operator chart is published. */
export const DEFAULT_WANDB_OPERATOR_CHART = 'oci://us-docker.pkg.dev/wandb-production/public/wandb/charts/operator'

/**
 * A W&B server release for the v2 operator: the server manifest `manifestRepository:version` (an
 * OCI artifact listing every image) and the operator chart that runs it.
 */
export interface WandbRelease {
  /** The W&B server version: the manifest's tag. */
  version: string
  /** `oci://HOST/PATH` of the server manifest (default DEFAULT_WANDB_MANIFEST_REPOSITORY). */
  manifestRepository: string
  /**
   * The operator chart: `oci://HOST/PATH/operator[:VERSION]` (no version: the newest that satisfies
   * the manifest's requiredOperatorVersion) or an absolute path to a chart `.tgz`.
   */
  operatorChart: string
  /** Also carry cert-manager (the operator chart needs it). */
  withCertManager: boolean
}
