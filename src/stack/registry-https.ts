import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../errors.ts';
import { registryConnection, registryGet } from '../sources/registry-client.ts';
import { aptGetInstall } from './install.ts';
import { spawnDetached, which } from './process.ts';
import { REGISTRY_HOST, REGISTRY_PORT } from './registry.ts';
import { readSecureSecrets, SECURE_ENDPOINTS, SECURE_HOST, SECURE_REGISTRY_PORT, secureFiles } from './secure.ts';
import type { Health, ServiceDriver, StackContext } from './types.ts';

const serviceDir = (ctx: StackContext): string => join(ctx.paths.secure, 'nginx');
const confFile = (ctx: StackContext): string => join(serviceDir(ctx), 'registry-https-nginx.conf');
const htpasswdFile = (ctx: StackContext): string => join(serviceDir(ctx), 'htpasswd');

/** nginx is in /usr/sbin, which is not on every user's PATH. */
function nginxBinary(): string | undefined {
  return which('nginx') ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined);
}

function nginxVersion(): string {
  const binary = nginxBinary();
  // nginx -v prints on stderr.
  const version = binary === undefined ? undefined : /nginx\/([\d.]+)/.exec(spawnSync(binary, ['-v'], { encoding: 'utf8', timeout: 2000 }).stderr ?? '')?.[1];
  return version === undefined ? 'nginx' : `nginx ${version}`;
}

/** GET /subjects through nginx with the stack's credentials and CA: TLS, auth and the registry behind all answer. */
async function registryHttpsHealth(ctx: StackContext): Promise<Health> {
  const secrets = readSecureSecrets(ctx.paths);
  if (secrets === undefined) return { healthy: false, detail: 'no secrets.env (run `driftwatch stack up --secure`)' };
  try {
    const connection = registryConnection({
      registry_url: SECURE_ENDPOINTS.registryUrl,
      registry: { user_info: `${secrets.registryUsername}:${secrets.registryPassword}`, tls: { ca_file: secureFiles(ctx.paths).ca, verify_hostname: true } },
    });
    const response = await registryGet(connection, '/subjects', 3000);
    connection.agent.destroy();
    if (response.status !== 200) return { healthy: false, detail: `GET /subjects answered HTTP ${response.status}` };
    const subjects = JSON.parse(response.body) as unknown;
    return Array.isArray(subjects) ? { healthy: true, detail: `${subjects.length} subjects over HTTPS as ${secrets.registryUsername}` } : { healthy: false, detail: 'GET /subjects: not a list' };
  } catch (error) {
    return { healthy: false, detail: errorMessage(error) };
  }
}

/** nginx (Debian's) terminating HTTPS with basic auth in front of the plain registry on :8081. */
export const registryHttpsDriver: ServiceDriver = {
  name: 'registry-https',
  address: SECURE_ENDPOINTS.registryUrl,
  port: SECURE_REGISTRY_PORT,
  marker: 'registry-https-nginx.conf',
  startTimeoutMs: 15_000,
  stopGraceMs: 10_000,

  product: () => `${nginxVersion()} (HTTPS + basic auth → Apicurio on :${REGISTRY_PORT})`,

  isInstalled: async () => nginxBinary() !== undefined,

  async install(ctx) {
    await aptGetInstall(ctx, 'registry-https', ['nginx-light', 'nginx']);
    return { queuedMs: 0 };
  },

  async prepare(ctx) {
    const secrets = readSecureSecrets(ctx.paths);
    if (secrets === undefined) throw new Error('registry-https: no secrets.env; `driftwatch stack up --secure` makes it');
    const files = secureFiles(ctx.paths);
    const runDir = join(serviceDir(ctx), 'run');
    mkdirSync(runDir, { recursive: true });
    // SHA-512 crypt (glibc's, which nginx uses); the password goes through stdin, never argv.
    const hash = execFileSync('openssl', ['passwd', '-6', '-stdin'], { input: `${secrets.registryPassword}\n`, encoding: 'utf8' }).trim();
    writeFileSync(htpasswdFile(ctx), `${secrets.registryUsername}:${hash}\n`, { mode: 0o644 });
    const values: Record<string, string> = {
      // A root master would hand requests to "nobody", who cannot read our files: keep the workers ours.
      USER_DIRECTIVE: process.getuid?.() === 0 ? 'user root;' : '',
      RUN_DIR: runDir,
      LOG_FILE: ctx.paths.logFile('registry-https'),
      HOST: SECURE_HOST,
      PORT: String(SECURE_REGISTRY_PORT),
      CERT_FILE: files.cert,
      KEY_FILE: files.key,
      HTPASSWD_FILE: htpasswdFile(ctx),
      UPSTREAM: `${REGISTRY_HOST}:${REGISTRY_PORT}`,
    };
    let text = readFileSync(join(ctx.paths.templates, 'registry', 'nginx.conf'), 'utf8');
    for (const [key, value] of Object.entries(values)) text = text.replaceAll(`@${key}@`, value);
    writeFileSync(confFile(ctx), text);
  },

  spawn: (ctx) =>
    spawnDetached(nginxBinary() ?? 'nginx', ['-p', serviceDir(ctx), '-e', ctx.paths.logFile('registry-https'), '-c', confFile(ctx)], {
      cwd: serviceDir(ctx),
      logFile: ctx.paths.logFile('registry-https'),
    }),

  health: registryHttpsHealth,
};
