/**
 * A fault-injecting HTTP proxy for the S3 and Lambda wire protocols, for tests that run a whole
 * job against emulators. Unlike the backend wrappers of `faults/`, which only the client's own
 * backend objects go through, every request goes through it: the client's, and the workers' (a
 * worker in a Lambda test environment or a local worker process is pointed at it by its
 * endpoint), and what a fault returns passes through the real SDKs' parsers.
 *
 * It listens on two ports, one the client's endpoints name and one the workers' name, so that
 * faults can be aimed at either side without guessing from headers. It forwards each request,
 * streaming both ways, to the upstream of its service (S3 or Lambda, told apart by path), and by a
 * seeded plan answers some with the services' real error answers, resets the connection in the
 * middle of the answer, holds them back, or strips `If-None-Match` from conditional creates.
 */
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { finished } from 'node:stream/promises';
import { DEFAULT_SEED } from '../environment.js';
import { assertShare, FaultSchedule } from '../faults/seeded-random.js';
import { classifyRequest, serviceErrorAnswer, type WireAnswer, type WireRequestKind, type WireService } from './wire-requests.js';

/** Which side a request came from: the port it arrived at. */
export type WireOrigin = 'client' | 'worker';
export const WIRE_ORIGINS: readonly WireOrigin[] = ['client', 'worker'];

/** The faults the proxy injects. */
export type WireFault = 'throttle' | 'internal-error' | 'reset' | 'delay';

/** Which faults a rule injects, on what share of the requests it matches. Shares are from 0 to 1, together at most 1. */
export type WireFaultShares = {
  /**
   * Refused as the service refuses a caller going too fast, without reaching it: S3 `503
   * SlowDown`, Lambda `429 TooManyRequestsException` with `Retry-After`.
   */
  throttle?: number;
  /** Refused as a service failing inside, without reaching it: S3 `500 InternalError`, Lambda `500 ServiceException`. */
  internalError?: number;
  /**
   * Forwarded, and the connection reset in the middle of the answer (after its headers and half
   * its body; before its first byte when it has none): the service did the work (a write landed,
   * an invocation ran), and the caller cannot know.
   */
  reset?: number;
  /** Held back {@link WireFaultRule.delayMs} before being forwarded: a slow request, not a failed one. */
  delay?: number;
};

/** Faults for the requests of one origin (or both) and some kinds. */
export type WireFaultRule = {
  /** Whose requests. Default: both sides'. */
  origin?: WireOrigin;
  kinds: readonly WireRequestKind[];
  faults?: WireFaultShares;
  /** How long a delayed request is held, in milliseconds. Default: 500. */
  delayMs?: number;
  /** The `Retry-After` of an injected Lambda throttle, in seconds. Default: 1. */
  retryAfterSeconds?: number;
  /**
   * Decide only on the first request for each method and path (object key): later ones pass, as a
   * retry after a blip would. With shares adding up to 1, every distinct request fails once,
   * however few a job makes. Default: `false`.
   */
  oncePerPath?: boolean;
  /**
   * Forward every conditional create it matches (`s3:create`) as a plain put, without
   * `If-None-Match`: the store then accepts a second write to the key, as a store that does not
   * enforce conditional writes would. (It also voids the request's signature, which the
   * emulators do not check.)
   */
  unconditional?: boolean;
};

/** What the proxy does to which requests. Each rule draws its own seeded decisions. */
export type WireFaultPlan = {
  rules: readonly WireFaultRule[];
  /** Seed of the decisions. Default: the suite's default seed. */
  seed?: number;
};

/** What the proxy saw and did since its plan was set. */
export type WireCounts = {
  /** Requests by `<origin> <kind>`, such as `worker s3:create`. */
  requests: Record<string, number>;
  /** Faults injected by `<origin> <kind> <fault>`, such as `client lambda:invoke-sync throttle`. */
  faults: Record<string, number>;
  /** Conditional creates forwarded as plain puts. */
  unconditional: number;
  /**
   * Creates the store accepted for a key it had accepted one for before (through this proxy, under
   * this plan): second writes of a record, which a store enforcing conditional creates refuses.
   */
  repeatedCreates: number;
};

export type WireFaultProxy = {
  /** `http://127.0.0.1:<port>` of each side, for its S3 and Lambda endpoint options. */
  readonly endpoints: Readonly<Record<WireOrigin, string>>;
  /** Where requests for a service go on, `http://host:port`; a service with none is answered `502`. */
  route(service: WireService, upstream: string): void;
  /** Start injecting by this plan (none: forward everything), with fresh counts. */
  setPlan(plan: WireFaultPlan | undefined): void;
  /** The counts since the plan was last set. */
  readonly counts: WireCounts;
  /** Stop listening, close every connection. */
  close(): Promise<void>;
};

const DEFAULT_DELAY_MS = 500;
const DEFAULT_RETRY_AFTER_SECONDS = 1;

/** Headers of one hop only, which a proxy must not pass on (RFC 9110 7.6.1), and `Expect`, which this proxy has answered itself. */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect']);

/** Start the proxy on two free ports of 127.0.0.1. */
export async function startWireFaultProxy(options: { upstreams?: Partial<Record<WireService, string>> } = {}): Promise<WireFaultProxy> {
  const upstreams = new Map<WireService, URL>();
  const route = (service: WireService, upstream: string) => void upstreams.set(service, new URL(upstream));
  for (const [service, upstream] of Object.entries(options.upstreams ?? {}) as [WireService, string][]) route(service, upstream);
  // Kept-alive upstream connections: a job makes thousands of requests.
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  let plan = new PlanState(undefined);

  const handle = async (origin: WireOrigin, request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    const { service, kind } = classifyRequest(method, url, request.headers);
    // The plan in force when the request came is the one that decides and counts it.
    const state = plan;
    const decision = state.decide(origin, kind, `${method} ${new URL(url, 'http://proxy').pathname}`);
    if (decision.fault === 'throttle' || decision.fault === 'internal-error') {
      // Read the whole request first, as a service does before it answers, so the connection stays usable.
      request.resume();
      await finished(request).catch(() => undefined);
      return send(response, serviceErrorAnswer(service, decision.fault, { method, url }, decision.retryAfterSeconds));
    }
    if (decision.fault === 'delay') {
      await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
      // The caller gave up meanwhile: nothing is left to forward.
      if (request.destroyed) return;
    }
    const upstream = upstreams.get(service);
    if (!upstream) {
      request.resume();
      return send(response, { status: 502, headers: { 'Content-Type': 'text/plain' }, body: Buffer.from(`The wire fault proxy has no upstream for ${service}.`) });
    }
    const stripCondition = decision.unconditional && kind === 's3:create';
    const outgoing = httpRequest({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      method,
      path: url,
      headers: forwardedHeaders(request.headers, stripCondition ? ['if-none-match'] : []),
      agent,
    });
    outgoing.on('response', (answer) => {
      if (kind === 's3:create' && (answer.statusCode ?? 500) < 300) state.noteCreated(url);
      if (decision.fault === 'reset') return resetMidAnswer(method, answer, response);
      response.writeHead(answer.statusCode ?? 502, forwardedHeaders(answer.headers, []));
      answer.pipe(response);
    });
    // The upstream failed or went away: so does this answer, as the connection would have.
    outgoing.on('error', () => resetConnection(response.socket));
    // The caller gave up (an aborted invocation): so does the request upstream; what it started there runs on.
    response.on('close', () => {
      if (!response.writableFinished) outgoing.destroy();
    });
    request.pipe(outgoing);
  };

  const servers = new Map<WireOrigin, Server>();
  const endpoints = {} as Record<WireOrigin, string>;
  for (const origin of WIRE_ORIGINS) {
    const server = createServer((request, response) => {
      handle(origin, request, response).catch(() => resetConnection(response.socket));
    });
    // SDK clients keep connections open between requests; a short server timeout would race them.
    server.keepAliveTimeout = 60_000;
    server.headersTimeout = 65_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.set(origin, server);
    endpoints[origin] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  return {
    endpoints,
    route,
    setPlan(next) {
      plan = new PlanState(next);
    },
    get counts() {
      return plan.counts;
    },
    async close() {
      for (const server of servers.values()) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      agent.destroy();
    },
  };
}

/** A rule with its seeded schedule, and the requests it has decided on when it decides once per path. */
type ArmedRule = { rule: WireFaultRule; schedule: FaultSchedule<WireFault>; decided: Set<string> };

/** What happens to one request. */
type Decision = { fault: WireFault | undefined; delayMs: number; retryAfterSeconds: number; unconditional: boolean };

/** One plan in force, with its counts. */
class PlanState {
  readonly counts: WireCounts = { requests: {}, faults: {}, unconditional: 0, repeatedCreates: 0 };
  private readonly rules: ArmedRule[];
  private readonly created = new Set<string>();

  constructor(plan: WireFaultPlan | undefined) {
    const seed = plan?.seed ?? DEFAULT_SEED;
    this.rules = (plan?.rules ?? []).map((rule, index) => {
      const shares: [WireFault, number][] = [
        ['throttle', assertShare('throttle', rule.faults?.throttle)],
        ['internal-error', assertShare('internalError', rule.faults?.internalError)],
        ['reset', assertShare('reset', rule.faults?.reset)],
        ['delay', assertShare('delay', rule.faults?.delay)],
      ];
      if (shares.reduce((sum, [, share]) => sum + share, 0) > 1) throw new TypeError(`The fault shares of wire rule ${index} add up to more than 1.`);
      // Each rule its own seed, so that two rules do not fail the same requests in lockstep.
      return { rule, schedule: new FaultSchedule(shares, seed + index * 7919), decided: new Set<string>() };
    });
  }

  /**
   * Every rule that matches draws its next decision, whether or not an earlier one chose a fault,
   * so that each rule's sequence depends on the seed and on how many requests it matched alone.
   * The first fault drawn applies. (Which request is a rule's n-th depends on timing.)
   * `identity` is the request's method and path.
   */
  decide(origin: WireOrigin, kind: WireRequestKind, identity: string): Decision {
    increment(this.counts.requests, `${origin} ${kind}`);
    const decision: Decision = { fault: undefined, delayMs: DEFAULT_DELAY_MS, retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS, unconditional: false };
    for (const { rule, schedule, decided } of this.rules) {
      if ((rule.origin !== undefined && rule.origin !== origin) || !rule.kinds.includes(kind)) continue;
      if (rule.unconditional && kind === 's3:create') decision.unconditional = true;
      if (rule.oncePerPath && decided.has(identity)) continue;
      decided.add(identity);
      const fault = schedule.next();
      if (decision.fault !== undefined || fault === undefined) continue;
      decision.fault = fault;
      decision.delayMs = rule.delayMs ?? DEFAULT_DELAY_MS;
      decision.retryAfterSeconds = rule.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
    }
    if (decision.fault) increment(this.counts.faults, `${origin} ${kind} ${decision.fault}`);
    if (decision.unconditional) this.counts.unconditional += 1;
    return decision;
  }

  noteCreated(url: string): void {
    const path = new URL(url, 'http://proxy').pathname;
    if (this.created.has(path)) this.counts.repeatedCreates += 1;
    this.created.add(path);
  }
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Requests that arrived at one side's port, for one service or both. */
export function requestsFrom(counts: WireCounts, origin: WireOrigin, service?: WireService): number {
  return Object.entries(counts.requests).reduce((sum, [key, count]) => (key.startsWith(`${origin} ${service ?? ''}`) ? sum + count : sum), 0);
}

/** The counts in one line: requests per side, then each fault injected, such as `worker s3:create reset 3`. */
export function describeWireCounts(counts: WireCounts): string {
  const requests = WIRE_ORIGINS.map((origin) => `${origin} ${requestsFrom(counts, origin)}`).join(', ');
  const faults = Object.entries(counts.faults)
    .sort(([left], [right]) => left.localeCompare(right))
    .map(([key, count]) => `${key} ${count}`)
    .join(', ');
  return `requests ${requests}; injected ${faults || 'nothing'}; creates sent unconditional ${counts.unconditional}, repeated creates accepted ${counts.repeatedCreates}`;
}

function forwardedHeaders(headers: IncomingHttpHeaders, drop: readonly string[]): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_HEADERS.has(name) && !drop.includes(name)) kept[name] = value;
  }
  return kept;
}

function send(response: ServerResponse, answer: WireAnswer): void {
  response.writeHead(answer.status, { ...answer.headers, 'Content-Length': String(answer.body.byteLength) });
  response.end(answer.body);
}

/**
 * Forward the answer's headers and half its body, then reset the connection; an answer without a
 * body is cut before its first byte, since with its headers it would be complete.
 */
function resetMidAnswer(method: string, answer: IncomingMessage, response: ServerResponse): void {
  const socket = response.socket;
  const status = answer.statusCode ?? 502;
  const declared = Number(answer.headers['content-length'] ?? Number.NaN);
  const hasBody = method !== 'HEAD' && status !== 204 && status !== 304 && (declared > 0 || answer.headers['transfer-encoding'] !== undefined);
  if (!hasBody || !socket) {
    answer.resume();
    resetConnection(socket);
    return;
  }
  response.writeHead(status, forwardedHeaders(answer.headers, []));
  let budget: number | undefined = Number.isFinite(declared) ? Math.max(1, Math.floor(declared / 2)) : undefined;
  const cut = () => resetConnection(socket);
  // A body shorter than it said: cut where it ended.
  answer.on('end', cut);
  answer.on('data', (chunk: Buffer) => {
    // A body of unknown length is cut in the middle of its first chunk.
    budget ??= Math.max(1, Math.floor(chunk.byteLength / 2));
    if (budget <= 0) return;
    const part = chunk.subarray(0, budget);
    budget -= part.byteLength;
    if (budget > 0) return void response.write(part);
    answer.destroy();
    response.write(part, cut);
  });
}

/** Reset a connection (a TCP RST, as a crashed load balancer or a broken network gives), unless it is gone already. */
function resetConnection(socket: Socket | null | undefined): void {
  if (socket && !socket.destroyed) socket.resetAndDestroy();
}
