import {Args, Flags} from '@oclif/core'
import type {PullEvent, PullResult} from '../src/usecases/pull.js'
import type {PullPlanResult} from '../src/usecases/pull-plan.js'
import {UsageError} from '../src/errors.js'
import {pullPlanLines} from '../src/cli/plan-text.js'
import {BaseCommand} from '../src/cli/base.js'
import {connectionOptions} from '../src/cli/connection.js'
import {connectionFlags, platformFlag, pullTime, signingKeyFlag, sizeFlag, sourceDateEpoch} from '../src/cli/flags.js'
import {registryMirrorFlag, specFlags, wandbFlags, wandbInput} from '../src/cli/spec-flags.js'
import {createProgress, formatBytes, formatRate} from '../src/cli/progress.js'

export default class Pull extends BaseCommand<typeof Pull> {
  static override summary = 'Pull a release (charts and every image they can run) into one signed bundle'
  static override description = `SPEC is an airgap.yaml release spec or a saved W&B channel response (JSON); or fetch the channel live with --channel-url and --license. Charts come from Helm repositories, OCI registries or disk.

Every image the charts name (values, annotations, template literals) or run when rendered with the release's values (as given, and with disabled components switched on unless --only-enabled; see \`airgap images --help\`) is resolved to a digest and stored once per unique blob. --skip-test-images leaves out images that only \`helm test\` hooks run.

Images that cannot be found are listed together: one an enabled component needs fails the pull (exit 7) unless --skip-missing; one only disabled components need is a warning. Both are recorded in the lock as not carried.

Interrupted pulls resume: run the same command again. SOURCE_DATE_EPOCH makes the bundle reproducible.

--since RECEIPT|BUNDLE|LOCK|INVENTORY writes a delta: the blobs the mirror already holds are left out (manifests are always carried) and listed in the lock; push checks they are in the mirror before it writes anything. --with-signatures also carries cosign signatures, attestations, SBOMs and OCI referrers of every image.

--dry-run prints the plan instead: every chart and image with its resolved digest, platforms and size, what is missing upstream, the totals and whether the pull would fail; it downloads no blob and writes nothing (-o is then optional: given, its folder's free space is checked).

--wandb-version VERSION carries a W&B release for the v2 operator: the server manifest (--manifest-repository, tag = VERSION; carried unchanged, pinned by digest), every image it names (a missing one fails the pull naming its manifest key) and the operator chart that satisfies the manifest's requiredOperatorVersion (--operator-chart to choose one), with its dependency charts.

${BaseCommand.exitCodesHelp}`
  static override examples = [
    '<%= config.bin %> pull airgap.yaml -o wandb.tar --sign-key cosign.key',
    '<%= config.bin %> pull --channel-url https://deploy.wandb.ai --license "$WANDB_LICENSE" -o wandb.tar',
    '<%= config.bin %> pull airgap.yaml -o update.tar --since wandb.tar.receipt.json --with-signatures',
    '<%= config.bin %> pull channel.json -o wandb.tar --registry-mirror docker.io=artifactory.corp:443/dockerhub --platform linux/amd64',
    '<%= config.bin %> pull airgap.yaml --dry-run',
    '<%= config.bin %> pull --wandb-version 0.99.0 --with-cert-manager -o wandb-v2.tar --sign-key cosign.key',
  ]
  static override args = {
    spec: Args.string({description: 'release spec: airgap.yaml or a saved W&B channel response', required: false}),
  }
  static override flags = {
    ...connectionFlags,
    ...specFlags,
    output: Flags.string({char: 'o', description: 'bundle file to write (required unless --dry-run)', helpValue: 'BUNDLE'}),
    'dry-run': Flags.boolean({description: 'print the plan (charts, images, digests, sizes, what is missing upstream) without downloading blobs or writing a bundle', default: false}),
    'sign-key': signingKeyFlag({description: 'sign the bundle with this cosign private key (password from AIRGAP_KEY_PASSWORD or COSIGN_PASSWORD, else asked)', env: 'AIRGAP_SIGN_KEY'}),
    platform: platformFlag({
      description: 'keep only this platform of multi-platform images (os/arch[/variant]); repeatable; default: the spec, else all',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'registry-mirror': registryMirrorFlag,
    ...wandbFlags,
    'skip-missing': Flags.boolean({description: 'carry on when an image of an enabled component is missing (recorded in the lock)', default: false}),
    force: Flags.boolean({description: 'overwrite an existing bundle file', default: false}),
    'max-part-size': sizeFlag({
      description: 'split media: write parts of at most SIZE (e.g. 4GiB, 700MiB), BUNDLE.part-001-of-00N.tar …, each a complete signed bundle; verify and push them one at a time, in any order',
    }),
    since: Flags.string({
      description: 'write a delta: leave out the blobs the mirror already holds, per this push receipt, bundle, bundle lock or `airgap inventory` file',
      env: 'AIRGAP_SINCE',
      helpValue: 'RECEIPT|BUNDLE|LOCK|INVENTORY',
    }),
    'verify-upstream': Flags.string({
      description: "verify every image's upstream cosign/Sigstore signatures against this policy before writing; a refused image fails the pull (exit 5), verdicts go into the signed lock",
      helpValue: 'POLICY.yaml',
    }),
    'with-signatures': Flags.boolean({description: 'also carry cosign signatures, attestations, SBOMs (sha256-<hex>.sig/.att/.sbom tags) and OCI referrers of every image', default: false}),
  }

  async run(): Promise<PullResult | PullPlanResult> {
    // Parsing decrypts --sign-key (scrypt: ~0.2 s and 64 MiB on a thread-pool thread) before the
    // pull code is loaded: the 64 MiB are released before anything else adds to the working set.
    // Loading the pull code meanwhile saved ~0.05 s but raised peak memory by several MiB.
    const {args, flags} = await this.parse(Pull)
    const json = this.jsonEnabled()
    if (flags.output === undefined && !flags['dry-run']) throw new UsageError('missing -o BUNDLE: the bundle file to write', {hint: 'name it with -o wandb.tar, or pass --dry-run to see the plan without writing anything'})
    const progress = createProgress({json, quiet: flags.quiet})
    const warn = (message: string): void => {
      if (json || !flags.quiet) progress.warning(message, (m) => this.warn(m))
    }
    const input = {
      ...connectionOptions(flags, (m, r) => warn(`${r}: ${m}`)),
      spec: args.spec,
      channelUrl: flags['channel-url'],
      release: flags.release,
      license: flags.license,
      wandb: wandbInput(flags),
      platforms: flags.platform ?? [],
      registryMirrors: flags['registry-mirror'] ?? [],
      onlyEnabled: flags['only-enabled'],
      skipMissing: flags['skip-missing'],
      skipTestImages: flags['skip-test-images'],
      force: flags.force,
      since: flags.since,
      withSignatures: flags['with-signatures'],
      verifyUpstream: flags['verify-upstream'],
      concurrency: flags.concurrency,
    }
    if (flags['dry-run']) {
      const {planPull} = await import('../src/usecases/pull-plan.js')
      const plan = await planPull({...input, out: flags.output, maxPartSize: flags['max-part-size'], hooks: {onWarning: warn}})
      progress.end()
      if (!flags.quiet && !json) for (const line of pullPlanLines(plan)) this.log(line)
      return plan
    }
    const {pullBundle} = await import('../src/usecases/pull.js')
    try {
      const result = await pullBundle({
        ...input,
        out: flags.output!,
        maxPartSize: flags['max-part-size'],
        signKey: flags['sign-key'],
        epoch: sourceDateEpoch(process.env),
        createdAt: pullTime(process.env),
        hooks: {
          ...progress,
          onEvent: (e: PullEvent) => {
            progress.note({...e})
            if (e.event === 'planned') {
              progress.setTotal(e.missingBytes)
              progress.status('writing bundle')
            } else if (e.event === 'discovered') progress.status(`resolving ${e.images} images`)
            else if (e.event === 'spec') progress.status('fetching charts')
          },
          onWarning: warn,
        },
      })
      progress.end()
      if (!flags.quiet && !json) this.printSummary(result)
      return result
    } finally {
      progress.end()
    }
  }

  private printSummary(r: PullResult): void {
    if (r.split) {
      this.log(`Wrote ${r.split.parts.length} part(s), ${formatBytes(r.size)} in all${r.signed ? `, each signed by key ${r.signer}` : ', unsigned'} (set ${r.split.setId})`)
      for (const p of r.split.parts) {
        this.log(`  ${p.path} (${formatBytes(p.size)}${p.oversized ? ', one blob over the limit' : ''}${p.kept ? ', kept from an earlier run' : ''}): ${p.images.length} image(s)`)
      }
    } else this.log(`Wrote ${r.path} (${formatBytes(r.size)})${r.signed ? `, signed by key ${r.signer}` : ', unsigned'}`)
    const rows: Array<[string, string]> = [
      ['images', `${r.images.length} carried${r.missing.length ? `, ${r.missing.length} missing (not carried)` : ''}${r.excluded.length ? `, ${r.excluded.length} excluded` : ''}${r.testOnlySkipped.length ? `, ${r.testOnlySkipped.length} helm-test-only left out` : ''}`],
      ['charts', r.charts.map((c) => `${c.name}@${c.version}`).join(', ') || '(none)'],
      ...(r.serverManifest
        ? [['server manifest', `${r.serverManifest.source} (${r.serverManifest.digest}), ${r.serverManifest.images} image entries${r.serverManifest.operatorCheck ? `; operator ${r.serverManifest.operatorCheck}` : ''}`] as [string, string]]
        : []),
      ['unique bytes', `${formatBytes(r.uniqueBytes)} in ${r.blobs} blobs`],
      ['saved by sharing', formatBytes(r.savedBySharing)],
      ...(r.delta ? [['left out (delta)', `${formatBytes(r.delta.expectedBytes)} in ${r.delta.expectedBlobs} blobs the mirror holds (per ${r.delta.since})`] as [string, string]] : []),
      ...(r.signatures ? [['signatures', `${r.signatures.length} carried`] as [string, string]] : []),
      ['fetched this run', `${formatBytes(r.stats.bytesCopied)} (${r.stats.blobsSkipped} blobs already present)`],
      ['time', `${r.seconds.toFixed(2)} s, ${formatRate(r.seconds > 0 ? r.stats.bytesCopied / r.seconds : 0)}`],
    ]
    for (const [k, v] of rows) this.log(`  ${k.padEnd(17)} ${v}`)
    const upstream = r.upstreamVerification
    if (upstream) this.log(`  ${'upstream signed'.padEnd(17)} ${upstream.filter((v) => v.verified).length} of ${upstream.length} image(s) verified`)
    for (const m of r.missing) this.log(`  missing: ${m.reference} (${m.reason}${m.enabled ? '' : '; disabled components only'}) <- ${m.origins.join(', ')}`)
  }
}
