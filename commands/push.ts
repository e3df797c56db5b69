import {Args, Flags} from '@oclif/core'
import {planPushBundle, pushBundle, type PushDryRunResult, type PushOptions, type PushResult} from '../src/usecases/push/index.js'
import {BaseCommand} from '../src/cli/base.js'
import {connectionOptions} from '../src/cli/connection.js'
import {connectionFlags, publicKeyFlag, registryFlag} from '../src/cli/flags.js'
import {pushPlanLines} from '../src/cli/plan-text.js'
import {formatBytes, formatRate} from '../src/cli/progress.js'
import {pushProgress} from '../src/cli/push-progress.js'

export default class Push extends BaseCommand<typeof Push> {
  static override summary = 'Push a verified bundle into a private registry and Helm repository'
  static override description = `Verifies the bundle first (signature with --key, lock, index, every blob digest) and
pushes nothing when anything is wrong. Then copies every image to --registry HOST[:PORT][/PREFIX]
(source host dropped: docker.io/wandb/local:0.62.2 -> HOST/PREFIX/wandb/local:0.62.2; with
--keep-source-host: HOST/PREFIX/docker.io/wandb/local:0.62.2), keeping tags and digests, skipping
blobs the registry has and mounting blobs shared between repositories. Charts go to --helm-repo:
oci://HOST/PATH, http(s)://… (PUT uploads: nginx WebDAV, Nexus, Artifactory), chartmuseum+https://…
or file:///PATH. A receipt (default BUNDLE.receipt.json) records what went where; \`airgap check\`
reads it. Rerunning the same push after a failure pushes only what is missing.
--max-nested-paths N fits registries that limit nesting (Quay, GHCR, Artifactory): N counts the path
components after the host, the prefix included (HOST/mirror/wandb/local has 3); a longer path keeps
its first N-1 components and joins the rest with '-' (--max-nested-paths 2: HOST/mirror/wandb-local).
--flatten joins everything below the prefix. Two sources folded onto one name are refused, naming
both, before anything is written. The receipt records the rules and how the mirror was reached
(--plain-http, --ca-file), so check and rewrite need not be told again.
--dry-run verifies the signature and lock, asks the mirror what it holds and prints the mapping and
what would be sent (blobs, bytes, manifests, tags); it writes nothing, not even the receipt.
Parts of a split bundle (pull --max-part-size) are pushed one at a time, in any order: each push
sends the blobs of its part and completes every image whose blobs are all in the mirror; images
still waiting for other parts are listed (exit 0) and complete when their last part is pushed.

${BaseCommand.exitCodesHelp}`
  static override examples = [
    '<%= config.bin %> push bundle.tar --key cosign.pub --registry registry.corp:5000/mirror --helm-repo oci://registry.corp:5000/charts',
    '<%= config.bin %> push bundle.tar --key cosign.pub --registry 127.0.0.1:5000 --plain-http 127.0.0.1:5000 --helm-repo https://charts.corp/helm --helm-username ci',
    '<%= config.bin %> push bundle.tar --key cosign.pub --registry quay.corp/wandb --max-nested-paths 2 --dry-run',
  ]
  static override args = {
    bundle: Args.string({description: 'the bundle tarball', required: true}),
  }
  static override flags = {
    ...connectionFlags,
    registry: registryFlag({description: 'mirror registry and optional path prefix', required: true, env: 'AIRGAP_REGISTRY'}),
    'keep-source-host': Flags.boolean({description: 'keep the source registry host as the first path component in the mirror', default: false}),
    'max-nested-paths': Flags.integer({
      description: "at most N path components after the mirror host, the prefix included; longer paths keep N-1 and join the rest with '-'",
      min: 1,
      helpValue: 'N',
    }),
    flatten: Flags.boolean({description: "put every image one path component below the prefix (its path joined with '-')", default: false}),
    'dry-run': Flags.boolean({description: 'print the source-to-mirror mapping and what the mirror lacks (blobs, bytes); write nothing', default: false}),
    key: publicKeyFlag({description: "the signer's public key (cosign.pub)", env: 'AIRGAP_KEY'}),
    'allow-unsigned': Flags.boolean({description: 'push without checking the signature (authenticity NOT checked)', default: false}),
    'require-upstream-verified': Flags.boolean({
      description: 'refuse the bundle (exit 5, naming the images) unless pull --verify-upstream verified the upstream signature of every image (use with --key)',
      default: false,
    }),
    'no-rollback': Flags.boolean({
      description: 'refuse (exit 2) to move a mirror tag back to the digest of a release pulled before the one there now (without it: a ROLLBACK warning)',
      default: false,
    }),
    'full-verify': Flags.boolean({
      description: 'hash every blob of the bundle before pushing, also those of images the mirror already holds (default: hash exactly what will be sent)',
      default: false,
    }),
    'helm-repo': Flags.string({description: 'where charts go: oci://HOST/PATH, http(s)://…, chartmuseum+https://…, file:///PATH', env: 'AIRGAP_HELM_REPO', helpValue: 'URL'}),
    'helm-username': Flags.string({description: 'Helm repository user (basic auth)', env: 'AIRGAP_HELM_USERNAME'}),
    'helm-password': Flags.string({description: 'Helm repository password (prefer the environment variable)', env: 'AIRGAP_HELM_PASSWORD'}),
    'helm-token': Flags.string({description: 'Helm repository bearer token', env: 'AIRGAP_HELM_TOKEN'}),
    receipt: Flags.string({description: 'where to write the push receipt (default BUNDLE.receipt.json)', env: 'AIRGAP_RECEIPT', helpValue: 'FILE'}),
  }

  async run(): Promise<PushResult | PushDryRunResult> {
    const {args, flags} = await this.parse(Push)
    const progress = pushProgress({json: this.jsonEnabled(), quiet: flags.quiet, warn: (m) => this.warn(m)})
    const helmAuth = {
      username: flags['helm-username'],
      password: flags['helm-password'],
      token: flags['helm-token'],
    }
    const options: PushOptions = {
      ...connectionOptions(flags, progress.registryWarning),
      bundle: args.bundle,
      registry: flags.registry,
      keepSourceHost: flags['keep-source-host'],
      maxNestedPaths: flags['max-nested-paths'],
      flatten: flags.flatten,
      publicKey: flags.key,
      allowUnsigned: flags['allow-unsigned'],
      requireUpstreamVerified: flags['require-upstream-verified'],
      noRollback: flags['no-rollback'],
      fullVerify: flags['full-verify'],
      helmRepo: flags['helm-repo'],
      helmAuth,
      receipt: flags.receipt,
      concurrency: flags.concurrency,
      hooks: progress.hooks,
    }
    try {
      if (flags['dry-run']) {
        const plan = await planPushBundle(options)
        progress.end()
        if (!flags.quiet) for (const line of pushPlanLines(plan)) this.log(line)
        return plan
      }
      const result = await pushBundle(options)
      progress.end()
      if (!flags.quiet) this.printSummary(result)
      return result
    } finally {
      progress.end()
    }
  }

  private printSummary(r: PushResult): void {
    const s = r.stats
    this.log(`Pushed ${r.images.pushed}/${r.images.total} image(s) to ${r.receipt.registry}${r.charts.total ? `, ${r.charts.pushed}/${r.charts.total} chart(s)${r.receipt.helmRepo ? ` to ${r.receipt.helmRepo}` : ''}` : ''}`)
    this.log(`  blobs: ${s.blobsCopied} pushed (${formatBytes(s.bytesCopied)}), ${s.blobsSkipped} already present, ${s.blobsMounted} mounted; manifests: ${s.manifestsCopied} pushed, ${s.manifestsSkipped} present`)
    if (s.bytesCopied > 0) this.log(`  ${r.seconds.toFixed(2)} s (the bundle verified after ${r.verifySeconds.toFixed(2)} s, alongside the uploads), ${formatRate(r.bytesPerSecond)}`)
    else this.log(`  ${r.seconds.toFixed(2)} s; no blob to upload`)
    if (s.existenceUnanswered > 0) this.log(`  the mirror answered ${s.existenceUnanswered} existence check(s) with a server error: what they asked about was sent again`)
    if (r.authenticity !== 'verified') this.log('  authenticity NOT checked (--allow-unsigned)')
    if (r.delta) this.log(`  delta: ${r.delta.expected} blob(s) left out of the bundle; ${r.delta.present} found in place, ${r.delta.mounted} mounted from other repositories`)
    if (r.signatures) this.log(`  signatures: ${r.signatures.filter((x) => x.status === 'pushed').length}/${r.signatures.length} pushed`)
    const v2 = r.receipt.serverManifest
    if (v2) {
      this.log(`  W&B ${v2.version} for the v2 operator: server manifest at ${v2.mirror} (${v2.digest}, as upstream); ${v2.images.length} manifest image(s) at ${v2.imageRegistry}/<registry/repository> as the operator reads them`)
      if (!r.split || r.split.waiting.length === 0) this.log(`  next: airgap rewrite --receipt ${r.receiptPath} --hostname https://<W&B URL>  (spec.global.imageRegistry ${v2.imageRegistry})`)
      else this.log('  next: push the parts still missing (below), then airgap rewrite with the receipt of the last one')
    }
    this.log(`  receipt: ${r.receiptPath}`)
    if (r.split) {
      const s = r.split
      this.log(`  part ${s.part} of ${s.parts}: ${s.completed.length} image(s) completed now, ${s.alreadyComplete.length} already complete, ${s.waiting.length} waiting`)
      if (s.missingParts.length > 0) {
        this.log(`  waiting for part(s) ${s.missingParts.join(', ')} of ${s.parts}:`)
        for (const w of s.waiting) this.log(`    ${w.image}: part(s) ${w.parts.join(', ')}`)
      } else this.log('  every image of the set is complete in the mirror')
    }
  }
}
