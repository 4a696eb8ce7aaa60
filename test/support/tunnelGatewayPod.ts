import { ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Netns, run } from "./realTools";

/**
 * The tunnel gateway Pod (components/home/tunnelGateway.ts) and the Traefik tunnel entrypoints behind it, as network
 * namespaces: the e2e topology and the VM lab both put the home stack's rendered haproxy.cfg in front of them.
 */

/** The Service name the rendered haproxy.cfg resolves at run time; the stand-in's cluster DNS answers it. */
export const BACKEND_DOMAIN_NAMES = ["traefik-tunnel.traefik.svc.cluster.local"];

/** A plain TLS listener on the backend, without PROXY, for measuring the path's ceiling. */
export const DIRECT_PORT = 9443;

/** The pod network between the gateway and the backend that stands in for Traefik. */
export const POD_NETWORK = { gateway: "10.42.0.10", backend: "10.42.0.20", prefix: 16 };

/** The pod network's link between the Traefik stand-in and the Headscale pod, when Headscale runs. */
export const HEADSCALE_POD_LINK = { backend: "10.42.1.1", headscale: "10.42.1.2" };

/** Where the Traefik stand-in sends Headscale's host, as the headscale IngressRoute does. */
export interface HeadscaleRoute {
  hostname: string;
  /** Headscale's pod address and listen port. */
  upstream: string;
}

/** What the pod pieces need from the test that hosts them. */
export interface PodRuntime {
  /** Scratch directory; the backend's files go under backend/, the gateway's under home/. */
  dir: string;
  /** Starts a long-running process in a namespace; the caller stops it at teardown. */
  start(netns: Netns, cmd: string, args: string[]): ChildProcess;
  /** Writes a file that `ip netns exec` binds over /etc/<name> in that namespace; the caller removes it at teardown. */
  etcFile(netns: Netns, name: string, content: string): void;
}

/** The Traefik stand-in's files: its self-signed wildcard certificate, the directory it serves at /files/, its access log. */
export function traefikStandInPaths(dir: string) {
  const backend = join(dir, "backend");
  return { certificate: join(backend, "tls.crt"), files: join(backend, "files"), accessLog: join(backend, "nginx-access.log") };
}

/**
 * The Traefik stand-in's route for Headscale's host: TLS on the tunnel entrypoint, passing the control protocol's and
 * DERP's HTTP upgrades through as Traefik does; plain HTTP redirected to HTTPS, as the tunnelweb entrypoint's
 * redirection in traefikValues.ts does (Tailscale's control client tries port 80 first).
 */
function headscaleServers(route: HeadscaleRoute, address: string): string {
  return `
  server {
    listen ${address}:8444 ssl proxy_protocol;
    server_name ${route.hostname};
    location / {
      proxy_pass http://${route.upstream};
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
  }
  server {
    listen ${address}:8081 proxy_protocol;
    server_name ${route.hostname};
    return 308 https://$host$request_uri;
  }`;
}

/** nginx standing in for Traefik's tunnel entrypoints: PROXY v2 in, TLS on 8444, plain on 8081, echoing the client. */
function nginxConfig(dir: string, address: string, headscale?: HeadscaleRoute): string {
  return `worker_processes 1;
daemon off;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log;
events {}
http {
  # The client as the PROXY header names it, not the gateway that connected.
  log_format client '$proxy_protocol_addr $request $status';
  access_log ${dir}/nginx-access.log client;
  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp; uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;
  ssl_certificate ${dir}/tls.crt;
  ssl_certificate_key ${dir}/tls.key;
  server {
    listen ${address}:8444 ssl proxy_protocol default_server;
    location /whoami { return 200 "$proxy_protocol_addr\\n"; }
    location /files/ { alias ${dir}/files/; }
  }
  server {
    listen ${address}:8081 proxy_protocol default_server;
    location / { return 200 "$proxy_protocol_addr\\n"; }
  }
  server {
    listen ${address}:${DIRECT_PORT} ssl;
    location /whoami { return 200 "$remote_addr\\n"; }
  }${headscale ? headscaleServers(headscale, address) : ""}
}
`;
}

const writeFile = (path: string, content: string, mode: number) => {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, content, { mode });
  return path;
};

/**
 * The backend side: the pod network's veth from the gateway's namespace to the backend's, a wildcard certificate
 * (with a SAN: Go clients such as Tailscale ignore a certificate's CN) and nginx as Traefik's tunnel entrypoints.
 * With `headscale`, a second link to Headscale's namespace and a route for its host.
 */
export function startTraefikStandIn(runtime: PodRuntime, gateway: Netns, backend: Netns, headscale?: { netns: Netns; route: HeadscaleRoute }): void {
  run("ip", ["-n", gateway.name, "link", "add", "pod0", "type", "veth", "peer", "name", "eth0", "netns", backend.name]);
  gateway.exec("ip", ["address", "add", `${POD_NETWORK.gateway}/${POD_NETWORK.prefix}`, "dev", "pod0"]);
  gateway.exec("ip", ["link", "set", "pod0", "up"]);
  backend.exec("ip", ["address", "add", `${POD_NETWORK.backend}/${POD_NETWORK.prefix}`, "dev", "eth0"]);
  backend.exec("ip", ["link", "set", "eth0", "up"]);
  const dir = join(runtime.dir, "backend");
  const paths = traefikStandInPaths(runtime.dir);
  mkdirSync(paths.files, { recursive: true });
  mkdirSync(join(dir, "tmp"), { recursive: true });
  run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=*.example.com", "-addext", "subjectAltName=DNS:*.example.com", "-days", "1", "-keyout", join(dir, "tls.key"), "-out", paths.certificate]);
  if (headscale) {
    run("ip", ["-n", backend.name, "link", "add", "hs0", "type", "veth", "peer", "name", "pod0", "netns", headscale.netns.name]);
    backend.exec("ip", ["address", "add", `${HEADSCALE_POD_LINK.backend}/30`, "dev", "hs0"]);
    backend.exec("ip", ["link", "set", "hs0", "up"]);
    headscale.netns.exec("ip", ["address", "add", `${HEADSCALE_POD_LINK.headscale}/30`, "dev", "pod0"]);
    headscale.netns.exec("ip", ["link", "set", "pod0", "up"]);
  }
  runtime.start(backend, "nginx", ["-c", writeFile(join(dir, "nginx.conf"), nginxConfig(dir, POD_NETWORK.backend, headscale?.route), 0o644)]);
}

/**
 * The gateway side, once its wg0 is up (HAProxy binds the tunnel addresses): cluster DNS that resolves the Traefik
 * Service to the stand-in, as the pod's resolv.conf would, and HAProxy on the home stack's rendered haproxy.cfg.
 */
export function startGatewayHaproxy(runtime: PodRuntime, gateway: Netns, haproxyConfig: string): void {
  const dir = join(runtime.dir, "home");
  const hosts = writeFile(join(dir, "cluster-hosts"), BACKEND_DOMAIN_NAMES.map((name) => `${POD_NETWORK.backend} ${name}`).join("\n") + "\n", 0o644);
  runtime.start(gateway, "dnsmasq", ["--keep-in-foreground", "--no-resolv", "--no-hosts", `--addn-hosts=${hosts}`, "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root", "--pid-file="]);
  runtime.etcFile(gateway, "resolv.conf", "nameserver 127.0.0.1\n");
  runtime.start(gateway, "haproxy", ["-W", "-db", "-f", writeFile(join(dir, "haproxy.cfg"), haproxyConfig, 0o600)]);
}
