import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base.js'
import {publicKeyFlag, sizeFlag} from '../src/cli/flags.js'
import {printableLine} from '../src/cli/terminal-text.js'
import {openServeSource, serveSource} from '../src/usecases/serve.js'

export interface ServeResult {
  url: string
  helmUrl: string
  images: number
  charts: number
  writable: boolean
}

export default class Serve extends BaseCommand<typeof Serve> {
  static override summary = 'Serve a bundle or an OCI layout folder as an OCI registry and a Helm chart repository'
  static override description = `A bundle (a .tar file) is served read-only, straight from the archive. An OCI layout folder is
served read-only too, or accepts pushes with --writable (created when missing). Each image named
docker.io/acme/app:1 in the bundle is served as repository acme/app (source host dropped, as
airgap push lays it out) and as docker.io/acme/app; containerd mirrors choose between source hosts
with ?ns=. Charts are also served as a classic Helm repository at <url>/charts.
Runs until interrupted (Ctrl-C, SIGTERM), then closes cleanly.

A short name held by several repositories (docker.io/acme/app and quay.io/acme/app) stands for the one index.json names first; a push through a name goes to the repository it stands for.

A writable server on an address reachable beyond this machine needs --htpasswd (pushes and reads then need a user), or --allow-anonymous-writes. Uploads larger than --max-upload-size are refused; unfinished uploads are dropped after an hour idle and when the server starts.

${BaseCommand.exitCodesHelp}`
  static override examples = [
    '<%= config.bin %> serve bundle.tar --key cosign.pub',
    '<%= config.bin %> serve ./layout --writable --addr 0.0.0.0:5000 --htpasswd ./htpasswd',
    '<%= config.bin %> serve bundle.tar --tls-cert server.crt --tls-key server.key --htpasswd ./htpasswd',
  ]
  static override args = {
    source: Args.string({description: 'bundle file or OCI layout folder', required: true}),
  }
  static override flags = {
    addr: Flags.string({description: 'address to listen on (port 0 picks a free port)', default: '127.0.0.1:5000', env: 'AIRGAP_SERVE_ADDR', helpValue: 'HOST:PORT'}),
    writable: Flags.boolean({description: 'accept pushes into the layout folder (creates it when missing)', default: false}),
    'allow-anonymous-writes': Flags.boolean({
      description: 'with --writable on an address reachable beyond this machine, accept pushes without --htpasswd (anyone can push and overwrite tags)',
      default: false,
      dependsOn: ['writable'],
    }),
    'max-upload-size': sizeFlag({description: 'with --writable, refuse a blob upload larger than SIZE (413) [default: 32GiB]', default: 32 * 1024 ** 3}),
    'tls-cert': Flags.string({description: 'serve HTTPS with this PEM certificate (chain)', dependsOn: ['tls-key'], helpValue: 'FILE'}),
    'tls-key': Flags.string({description: 'PEM private key of --tls-cert', dependsOn: ['tls-cert'], helpValue: 'FILE'}),
    htpasswd: Flags.string({description: 'require basic auth with users from this htpasswd file (bcrypt: htpasswd -B)', env: 'AIRGAP_HTPASSWD', helpValue: 'FILE'}),
    key: publicKeyFlag({description: "verify the bundle against the signer's public key (cosign.pub) before serving", env: 'AIRGAP_KEY'}),
    verbose: Flags.boolean({char: 'v', description: 'log every request on stderr', default: false}),
  }

  async run(): Promise<ServeResult> {
    const {args, flags} = await this.parse(Serve)
    const source = await openServeSource(args.source, {writable: flags.writable, publicKey: flags.key})
    try {
      const server = await serveSource(source, {
        writable: flags.writable,
        allowAnonymousWrites: flags['allow-anonymous-writes'],
        maxUploadSize: flags['max-upload-size'],
        addr: flags.addr,
        ...(flags['tls-cert'] && flags['tls-key'] ? {tls: {cert: flags['tls-cert'], key: flags['tls-key']}} : {}),
        ...(flags.htpasswd ? {htpasswd: flags.htpasswd} : {}),
        onRequest: (r) => flags.verbose && this.logToStderr(printableLine(`${r.method} ${r.path} ${r.status} ${r.ms.toFixed(0)}ms${r.user ? ` ${r.user}` : ''}`)),
        onWarning: (m) => this.warn(m),
        onError: (err, r) => this.warn(`${r.method} ${r.path}: ${err instanceof Error ? err.message : String(err)}`),
      })
      const {images, charts} = await server.counts()
      if (!this.jsonEnabled()) this.printBanner(server.url, server.helmUrl, server.address, {images, charts, writable: flags.writable, verified: source.verified !== undefined})
      await waitForSignal()
      await server.close()
      if (!flags.quiet && !this.jsonEnabled()) this.log('Stopped.')
      return {url: server.url, helmUrl: server.helmUrl, images, charts, writable: flags.writable}
    } finally {
      await source.close()
    }
  }

  private printBanner(url: string, helmUrl: string, address: string, s: {images: number; charts: number; writable: boolean; verified: boolean}): void {
    this.log(`Serving ${s.images} image(s) and ${s.charts} chart(s)${s.writable ? ' (writable)' : ' (read-only)'}${s.verified ? ', bundle verified' : ''}`)
    this.log(`  registry   ${url}`)
    this.log(`  helm repo  ${helmUrl}`)
    const tlsFlag = url.startsWith('http:') ? ' --src-tls-verify=false' : ''
    this.log(`  skopeo:     skopeo copy --all${tlsFlag} docker://${address}/acme/app:1 oci:./out:app`)
    this.log(`  containerd: in <hosts-dir>/docker.io/hosts.toml add [host."${url}"] capabilities = ["pull", "resolve"]`)
    this.log(`  helm:       helm repo add airgap ${helmUrl}`)
    this.log('Press Ctrl-C to stop.')
  }
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done)
      process.off('SIGTERM', done)
      resolve()
    }
    process.on('SIGINT', done)
    process.on('SIGTERM', done)
  })
}
