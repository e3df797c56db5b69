import {Args, Flags} from '@oclif/core'
import {DEFAULT_OPERATOR_VALUES, DEFAULT_OPERATOR_YAML, rewriteRelease, type RewriteReleaseResult, type RewriteV2Result} from '../src/usecases/rewrite.js'
import {BaseCommand} from '../src/cli/base.js'
import {explainTable} from '../src/cli/rewrite-explain.js'

export default class Rewrite extends BaseCommand<typeof Rewrite> {
  static override summary = 'Write operator.yaml and operator values that install W&B from the mirror; rewrite image references in YAML files'
  static override description = `Reads the push receipt (where every image and chart went) and writes:
  operator.yaml          the WeightsAndBiases resource (apps.wandb.com/v1): spec.chart at the mirrored
                         operator-wandb chart, spec.values = channel values < --values < mirror overrides
                         (every discovered image path, disabled components included)
  operator-values.yaml   values for the operator chart: mirrored controller image, airgapped: true,
                         customCACerts / caCertsConfigMap, pull secrets
  wandb-charts.yaml      with --chart-source configmap: the chart as a ConfigMap (refused over 1 MiB)
  FILE…                  image references rewritten in place (or into --out-dir), comments kept
  --containerd-hosts DIR one hosts.toml folder per source registry (and one for the mirror host when it
                         speaks plain HTTP or has a CA file); --registries-conf FILE for CRI-O/podman

Channel values: taken from the bundle the receipt names (airgap/spec.yaml, the channel values pull
stored, secrets removed), so no channel file needs to cross the air gap; --channel FILE overrides.
Chart source default: repo when the chart was pushed to a Helm repository, else oci, else configmap.
Nothing is written unless every check passes: operator.yaml must validate against the real CRD schema
(exit 3), and every image reference in the outputs must point into the mirror or be named by
--allow-external (exit 3, with the list). Images hard-coded in chart templates cannot be redirected
through values: they pass only when --containerd-hosts or --registries-conf is written (or allowed).
The receipt records how the push reached the mirror: a plain-HTTP mirror gets http:// and
insecure = true in node configs without --plain-http (given, --plain-http replaces the receipt's
list; each disagreement is stated). Names shortened by push --max-nested-paths / --flatten are
mapped per repository in registries.conf and --idms; containerd's hosts.toml cannot rename a
repository, so such an image hard-coded in a template is refused with only --containerd-hosts.

The proof: the operator-wandb chart carried in the bundle is rendered with exactly the values the
operator will use for operator.yaml, and every container of every Pod, Deployment, StatefulSet,
DaemonSet, Job and CronJob (hooks, init and ephemeral containers included) must pull from the mirror
or through the node-level config, with imagePullSecrets as {name: …} and, with --pull-secret, one of
those secrets on every pod that pulls from the mirror (exit 3, naming object and template). Warnings:
digests a template drops with --pin-digests, "latest" tags. --explain prints every container.
--chart-source oci needs operator 1.22.0 or later: checked against the operator in the bundle.
A literal license in --values is kept in operator.yaml but never printed.

W&B for the v2 operator (a bundle pulled with --wandb-version; --operator v1|v2 chooses when the
bundle also carries a v1 release):
  operator.yaml          the WeightsAndBiases resource (apps.wandb.com/v2): spec.wandb.version and
                         manifestRepository at the mirror, spec.global.imageRegistry = the mirror
                         (the operator prepends it to every manifest image), pull secrets, CAs;
                         validated against the schema of the v2 types; needs --hostname
  operator-values.yaml   values for the v2 operator chart: every dependency image from the mirror,
                         wandb-operator.caCerts from --custom-ca, wandb.install: false
The v2 operator never pulls the manifest over plain HTTP: with a plain-HTTP mirror (--plain-http, or
as the receipt records the push) the oci route is refused; --manifest-route file writes the manifest
into a ConfigMap (wandb-server-manifest.yaml) mounted into the operator instead. --containerd-hosts,
--registries-conf and --idms write node configs for the v2 layout too: a registry whose images sit
under two paths (MIRROR/docker.io/... where the manifest names the registry, MIRROR/... where it
names none) gets both, tried in order. A v1 resource written for a mirror that holds a v2 manifest
gets global.imageRegistry, which the v1-to-v2 conversion reads.

${BaseCommand.exitCodesHelp}`
  static override examples = [
    '<%= config.bin %> rewrite --receipt bundle.tar.receipt.json --values site.yaml',
    '<%= config.bin %> rewrite --receipt r.json --values site.yaml --chart-source oci --pin-digests --containerd-hosts ./certs.d',
    '<%= config.bin %> rewrite --receipt r.json my-values.yaml manifests/job.yaml --out-dir rewritten/',
    '<%= config.bin %> rewrite --receipt wandb-v2.tar.receipt.json --hostname https://wandb.corp --custom-ca corp-ca.pem',
  ]
  static override strict = false
  static override args = {
    file: Args.string({description: 'YAML files (Helm values, Kubernetes manifests) whose image references to rewrite'}),
  }
  static override flags = {
    receipt: Flags.string({description: 'the push receipt', required: true, env: 'AIRGAP_RECEIPT', helpValue: 'FILE'}),
    bundle: Flags.string({description: 'the pushed bundle (default: the path in the receipt); source of channel values and the chart package', helpValue: 'FILE'}),
    values: Flags.string({description: 'site values (global.host, license, MySQL, bucket, ingress, …)', helpValue: 'FILE'}),
    channel: Flags.string({description: 'a channel response file whose values replace those stored in the bundle', helpValue: 'FILE'}),
    output: Flags.string({char: 'o', description: 'where to write the WeightsAndBiases resource', default: DEFAULT_OPERATOR_YAML, helpValue: 'FILE'}),
    'operator-values': Flags.string({description: 'where to write the operator chart values', default: DEFAULT_OPERATOR_VALUES, helpValue: 'FILE'}),
    'chart-source': Flags.string({description: 'how the operator gets the operator-wandb chart', options: ['repo', 'oci', 'configmap']}),
    'charts-configmap': Flags.string({description: 'where to write the wandb-charts ConfigMap (configmap route; default beside -o)', helpValue: 'FILE'}),
    'pin-digests': Flags.boolean({description: 'pin every image by digest as well as tag', default: false}),
    'containerd-hosts': Flags.string({description: 'write containerd hosts.toml folders (one per source registry) here', helpValue: 'DIR'}),
    'registries-conf': Flags.string({description: 'write a CRI-O/podman registries.conf here', helpValue: 'FILE'}),
    idms: Flags.string({description: 'write an OpenShift ImageDigestMirrorSet and ImageTagMirrorSet (one per mirrored repository) here', helpValue: 'FILE'}),
    'idms-source-policy': Flags.string({description: 'mirrorSourcePolicy of --idms entries', options: ['NeverContactSource', 'AllowContactingSource'], dependsOn: ['idms']}),
    'ca-file-on-nodes': Flags.string({description: "path of the mirror's CA certificate on the nodes (hosts.toml ca)", helpValue: 'PATH'}),
    'plain-http': Flags.string({
      description: 'this registry HOST[:PORT] speaks plain HTTP (node configs use http://, OCI chart plainHTTP); repeatable; default: as the receipt records the push',
      multiple: true,
      multipleNonGreedy: true,
      env: 'AIRGAP_PLAIN_HTTP',
      delimiter: ',',
      helpValue: 'HOST[:PORT]',
    }),
    'pull-secret': Flags.string({description: 'image pull Secret name for the platform and the operator; repeatable', multiple: true, multipleNonGreedy: true, helpValue: 'NAME'}),
    'custom-ca': Flags.string({description: 'PEM CA file the operator trusts (customCACerts); repeatable', multiple: true, multipleNonGreedy: true, helpValue: 'FILE'}),
    'ca-configmap': Flags.string({description: 'existing ConfigMap of CA certificates for the operator (caCertsConfigMap)', helpValue: 'NAME'}),
    'chart-credential-secret': Flags.string({description: 'Secret with HELM_USERNAME/HELM_PASSWORD for the chart download', helpValue: 'NAME'}),
    'allow-external': Flags.string({description: 'image reference, repository or glob allowed to stay outside the mirror; repeatable', multiple: true, multipleNonGreedy: true, helpValue: 'REF'}),
    name: Flags.string({description: 'name of the WeightsAndBiases resource (also the Helm release)', default: 'wandb'}),
    namespace: Flags.string({description: 'namespace of the WeightsAndBiases resource', default: 'default'}),
    'operator-namespace': Flags.string({description: 'namespace of the operator, for the charts ConfigMap (default: --namespace)'}),
    'out-dir': Flags.string({description: 'write rewritten FILEs here instead of in place', helpValue: 'DIR'}),
    explain: Flags.boolean({description: 'print every rendered container: component, object, container, image, how it is redirected', default: false}),
    operator: Flags.string({description: 'write for the v1 or the v2 operator (default: v2 when the bundle carries a W&B v2 server manifest, else v1)', options: ['v1', 'v2']}),
    hostname: Flags.string({description: 'v2: public URL of W&B, spec.wandb.hostname (default: global.host of --values)', helpValue: 'URL'}),
    'manifest-route': Flags.string({
      description: 'v2: how the operator reads the server manifest: oci (from the mirror, HTTPS only) or file (a ConfigMap mounted into the operator; for a plain-HTTP mirror)',
      options: ['oci', 'file'],
    }),
    'manifest-configmap': Flags.string({description: 'v2, file route: where to write the server-manifest ConfigMap (default beside -o)', helpValue: 'FILE'}),
  }

  async run(): Promise<RewriteReleaseResult | RewriteV2Result> {
    const {argv, flags} = await this.parse(Rewrite)
    const files = (argv as string[]).filter((f) => f !== '')
    const result = await rewriteRelease({
      receipt: flags.receipt,
      bundle: flags.bundle || undefined,
      values: flags.values || undefined,
      channel: flags.channel || undefined,
      operatorYaml: flags.output,
      operatorValues: flags['operator-values'],
      chartSource: flags['chart-source'] as 'repo' | 'oci' | 'configmap' | undefined,
      chartsConfigMap: flags['charts-configmap'] || undefined,
      pinDigests: flags['pin-digests'],
      containerdHosts: flags['containerd-hosts'] || undefined,
      registriesConf: flags['registries-conf'] || undefined,
      idms: flags.idms,
      idmsSourcePolicy: flags['idms-source-policy'] as 'NeverContactSource' | 'AllowContactingSource' | undefined,
      caFileOnNodes: flags['ca-file-on-nodes'] || undefined,
      plainHttp: flags['plain-http'] ?? [],
      pullSecrets: flags['pull-secret'] ?? [],
      customCa: flags['custom-ca'] ?? [],
      caConfigMap: flags['ca-configmap'] || undefined,
      chartCredentialSecret: flags['chart-credential-secret'] || undefined,
      allowExternal: flags['allow-external'] ?? [],
      name: flags.name,
      namespace: flags.namespace,
      operatorNamespace: flags['operator-namespace'] || undefined,
      files,
      outDir: flags['out-dir'] || undefined,
      explain: flags.explain,
      operator: flags.operator as 'v1' | 'v2' | undefined,
      hostname: flags.hostname,
      manifestRoute: flags['manifest-route'] as 'oci' | 'file' | undefined,
      manifestConfigMap: flags['manifest-configmap'],
      hooks: {onWarning: (m) => this.warn(m)},
    })
    if (!flags.quiet) this.printSummary(result)
    if (flags.explain) for (const line of explainTable((result.operator === 'v1' ? result.proof.rows : result.rendering.rows) ?? [])) this.log(line)
    return result
  }

  private printSummary(r: RewriteReleaseResult | RewriteV2Result): void {
    if (r.operator === 'v2') return this.printV2Summary(r)
    this.log(`Rewrote for the mirror ${r.registry} (receipt ${r.receipt})${r.plainHttp.mirror ? `, plain HTTP (${r.plainHttp.from === 'receipt' ? 'as the push reached it, per the receipt' : '--plain-http'})` : ''}`)
    for (const f of r.files) this.log(`  wrote ${f.kind.padEnd(16)} ${f.path}`)
    this.log(`  images   ${r.images.redirected} redirected at ${r.images.valuesPaths} values path(s); operator controller ${r.images.controller}`)
    this.log(`  chart    ${r.chart.name} ${r.chart.version} via ${r.chart.source}: ${r.chart.location}`)
    this.log(`  channel  ${r.channelValues.from === 'none' ? 'no channel values' : `values from ${r.channelValues.file}`}`)
    for (const f of r.rewritten) this.log(`  ${f.changes.length} image reference(s) rewritten in ${f.output}`)
    this.log(`  proof    ${r.proof.chart} rendered with the CR's values: ${r.proof.objects} objects; all ${r.proof.containers} containers proven (mirror through values, node-level config, or --allow-external)${r.proof.rows === undefined ? '; --explain lists them' : ''}`)
    this.log(`  operator the CR needs ${r.operatorRequirement.needs}${r.operatorRequirement.bundled !== undefined ? `; the bundle carries ${r.operatorRequirement.bundled} (${r.operatorRequirement.from ?? ''})` : ''}`)
    if (r.nodeMirror.length > 0) this.log(`  ${r.nodeMirror.length} hard-coded template image(s) covered by the node-level mirror config`)
    if (r.warnings.length > 0) this.log(`  ${r.warnings.length} warning(s) (above)`)
  }

  private printV2Summary(r: RewriteV2Result): void {
    this.log(`Rewrote W&B ${r.serverManifest.version} for the v2 operator and the mirror ${r.registry} (receipt ${r.receipt})`)
    for (const f of r.files) this.log(`  wrote ${f.kind.padEnd(25)} ${f.path}`)
    this.log(`  manifest  ${r.serverManifest.manifestRepository}${r.serverManifest.route === 'oci' ? `:${r.serverManifest.version}` : ''} (${r.serverManifest.digest})`)
    this.log(`  images    spec.global.imageRegistry ${r.registry}; operator ${r.operatorImage}`)
    this.log(`  proof     the operator chart rendered with the operator values: ${r.rendering.objects} object(s); ${r.rendering.containers === 1 ? 'its one container pulls' : `all ${r.rendering.containers} containers pull`} from the mirror`)
    for (const f of r.rewritten) this.log(`  ${f.changes.length} image reference(s) rewritten in ${f.output}`)
    if (r.warnings.length > 0) this.log(`  ${r.warnings.length} warning(s) (above)`)
  }
}
