// Starts e2e/fhir/server.mjs with --seed, sends real HTTP requests to it, and
// prints one line per check: what was sent, what came back, and whether that
// is what a FHIR R4 server should do.
//
//   node e2e/fhir/probe.mjs            # the server as the tests use it (gap fills on)
//   node e2e/fhir/probe.mjs --pure     # Medplum's router + MemoryRepository alone
//   node e2e/fhir/probe.mjs --markdown # the same, as Markdown table rows
//
// Exits 1 if any check that is expected to pass in this mode fails.

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateResource } from '@medplum/core';
import { loadDefinitions } from './server.mjs';
import { buildSeed, DAYS } from './seed.mjs';

const pure = process.argv.includes('--pure');
const markdown = process.argv.includes('--markdown');
const here = dirname(fileURLToPath(import.meta.url));

function startServer() {
  return new Promise((resolve, reject) => {
    const args = [join(here, 'server.mjs'), '--port', '0', '--seed', '--quiet'];
    if (pure) args.push('--pure');
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error('server did not start in 30 s')), 30000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /^FHIR server listening on (http:\/\/127\.0\.0\.1:\d+\/fhir\/R4)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, base: m[1] });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

const { child, base } = await startServer();
const { today, resources } = buildSeed({ today: undefined });
const day = (n) => {
  const d = new Date(`${today}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
};

const rows = [];
let failures = 0;

async function call(method, path, { body, headers = {} } = {}) {
  const url = path.startsWith('http') ? path : `${base}/${path}`;
  const init = { method, headers: { Accept: 'application/fhir+json', ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['Content-Type'] ??= method === 'PATCH' ? 'application/json-patch+json' : 'application/fhir+json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

function show(method, path, headers = {}) {
  const h = Object.entries(headers).map(([k, v]) => ` -H '${k}: ${v}'`).join('');
  return `${method} ${path}${h}`;
}

/**
 * @param {string} id check id
 * @param {string} request exact request line
 * @param {() => Promise<[boolean, string]>} fn returns [ok, observation]
 * @param {{ pureFails?: boolean, knownGap?: boolean }} [opts] pureFails: expected to fail with --pure;
 *   knownGap: a limitation of the server in both modes (reported, not counted as a failure)
 */
async function check(id, request, fn, opts = {}) {
  let ok;
  let note;
  try {
    [ok, note] = await fn();
  } catch (err) {
    ok = false;
    note = `threw ${err?.message ?? err}`;
  }
  const expectedFail = (pure && opts.pureFails) || opts.knownGap;
  if (!ok && !expectedFail) failures++;
  const verdict = ok ? 'works' : opts.knownGap ? 'does not (known gap)' : expectedFail ? 'does not (expected in --pure)' : 'FAILS';
  rows.push({ id, request, verdict, note });
  if (markdown) {
    console.log(`| ${id} | \`${request.replaceAll('|', '\\|')}\` | ${verdict} | ${note.replaceAll('|', '\\|')} |`);
  } else {
    console.log(`[${ok ? 'ok' : expectedFail ? '--' : 'XX'}] ${id}: ${request}\n     -> ${note}`);
  }
}

const ids = (b) => (b?.entry ?? []).filter((e) => e.search?.mode !== 'include').map((e) => e.resource.id);
const all = (b) => (b?.entry ?? []).map((e) => `${e.resource.resourceType}/${e.resource.id}`);
const sameSet = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
const outcomeText = (r) => `${r.status} ${r.json?.resourceType} issue ${r.json?.issue?.[0]?.severity}/${r.json?.issue?.[0]?.code} "${r.json?.issue?.[0]?.details?.text}"`;
const etagVersion = (etag) => /^W\/"([^"]+)"$/.exec(etag ?? '')?.[1];

console.log(`# probe of ${base} (${pure ? '--pure' : 'gap fills on'}), seed day ${today}`);

// ------------------------------------------------------------ server basics

await check('seed is valid FHIR R4', 'validateResource() from @medplum/core on every seed resource (offline)', async () => {
  loadDefinitions();
  let bad = 0;
  let first = '';
  for (const r of resources) {
    try {
      validateResource(r);
    } catch (err) {
      bad++;
      first ||= `${r.resourceType}/${r.id}: ${JSON.stringify(err.outcome?.issue ?? String(err)).slice(0, 300)}`;
    }
  }
  const counts = {};
  for (const r of resources) counts[r.resourceType] = (counts[r.resourceType] ?? 0) + 1;
  return [bad === 0, `${resources.length} resources (${Object.entries(counts).map(([t, n]) => `${n} ${t}`).join(', ')}), ${bad} invalid ${first}`];
});

await check('metadata', 'GET metadata', async () => {
  const r = await call('GET', 'metadata');
  return [r.status === 200 && r.json?.resourceType === 'CapabilityStatement',
    `${r.status} ${r.json?.resourceType}${r.json?.issue ? ': ' + r.json.issue[0].details?.text : ''}`];
}, { pureFails: true });

await check('cors-preflight', "OPTIONS Slot/x -H 'Origin: http://localhost:8080' -H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: content-type,if-match,if-none-exist,prefer'", async () => {
  const res = await fetch(`${base}/Slot/x`, {
    method: 'OPTIONS',
    headers: { Origin: 'http://localhost:8080', 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type,if-match,if-none-exist,prefer' },
  });
  const allow = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
  const ok = res.status === 204 && res.headers.get('access-control-allow-origin') === '*' &&
    ['content-type', 'if-match', 'if-none-exist', 'prefer'].every((h) => allow.includes(h));
  return [ok, `${res.status}, allow-origin ${res.headers.get('access-control-allow-origin')}, expose ${res.headers.get('access-control-expose-headers')}`];
});

// ------------------------------------------------------------ a. searches

await check('a1 top-level orgs', 'GET Organization?partof:missing=true', async () => {
  const r = await call('GET', 'Organization?partof:missing=true');
  return [sameSet(ids(r.json), ['hosp-a', 'hosp-b']), `${r.status}, ids ${ids(r.json)}`];
});

await check('a1 hospitals by type', 'GET Organization?type=http://terminology.hl7.org/CodeSystem/organization-type|prov', async () => {
  const r = await call('GET', 'Organization?type=http://terminology.hl7.org/CodeSystem/organization-type%7Cprov');
  return [sameSet(ids(r.json), ['hosp-a', 'hosp-b']), `${r.status}, ids ${ids(r.json)}`];
});

await check('a1 name search (zh)', 'GET Organization?name=江南', async () => {
  const r = await call('GET', `Organization?name=${encodeURIComponent('江南')}`);
  return [sameSet(ids(r.json), ['hosp-b']), `${r.status}, ids ${ids(r.json)}`];
});

await check('a1 name search (alias, en)', "GET Organization?name=Jiangnan", async () => {
  const r = await call('GET', 'Organization?name=Jiangnan');
  return [sameSet(ids(r.json), ['hosp-b']), `${r.status}, ids ${ids(r.json)} (R4 Organization.name search covers name | alias)`];
});

await check('a2 HealthcareService?organization=', 'GET HealthcareService?organization=Organization/hosp-a', async () => {
  const r = await call('GET', 'HealthcareService?organization=Organization/hosp-a');
  return [sameSet(ids(r.json), ['hs-a-cardio', 'hs-a-gastro', 'hs-a-ortho']), `${r.status}, ids ${ids(r.json)}`];
});

await check('a2 …with bare id', 'GET HealthcareService?organization=hosp-a', async () => {
  const r = await call('GET', 'HealthcareService?organization=hosp-a');
  return [sameSet(ids(r.json), ['hs-a-cardio', 'hs-a-gastro', 'hs-a-ortho']), `${r.status}, ids [${ids(r.json)}]: reference values match only as Type/id`];
}, { knownGap: true });

await check('a2 …by first-level group', `GET HealthcareService?organization=Organization/hosp-a&service-category=https://fairslot.example/fhir/CodeSystem/department-group|im`, async () => {
  const r = await call('GET', 'HealthcareService?organization=Organization/hosp-a&service-category=https://fairslot.example/fhir/CodeSystem/department-group%7Cim');
  return [sameSet(ids(r.json), ['hs-a-cardio', 'hs-a-gastro']), `${r.status}, ids ${ids(r.json)}`];
});

await check('a3 Organization?partof= (level 1)', 'GET Organization?partof=Organization/hosp-b', async () => {
  const r = await call('GET', 'Organization?partof=Organization/hosp-b');
  return [sameSet(ids(r.json), ['org-b-im', 'org-b-peds']), `${r.status}, ids ${ids(r.json)}`];
});

await check('a3 Organization?partof= (level 2)', 'GET Organization?partof=Organization/org-b-im', async () => {
  const r = await call('GET', 'Organization?partof=Organization/org-b-im');
  return [sameSet(ids(r.json), ['org-b-resp', 'org-b-neuro']), `${r.status}, ids ${ids(r.json)}`];
});

await check('a3 chained partof (both levels at once)', 'GET Organization?partof:Organization.partof=Organization/hosp-b', async () => {
  const r = await call('GET', 'Organization?partof:Organization.partof=Organization/hosp-b');
  return [sameSet(ids(r.json), ['org-b-resp', 'org-b-neuro', 'org-b-pedgen']), `${r.status}, ${r.json?.resourceType === 'OperationOutcome' ? r.json.issue?.[0]?.details?.text : 'ids [' + ids(r.json) + ']'}`];
}, { knownGap: true });

await check('a4 PractitionerRole?service=', 'GET PractitionerRole?service=HealthcareService/hs-a-cardio', async () => {
  const r = await call('GET', 'PractitionerRole?service=HealthcareService/hs-a-cardio');
  return [sameSet(ids(r.json), ['role-a-cardio-1', 'role-a-cardio-2', 'role-a-cardio-3']), `${r.status}, ids ${ids(r.json)}`];
});

await check('a4 PractitionerRole?organization=', 'GET PractitionerRole?organization=Organization/org-b-neuro', async () => {
  const r = await call('GET', 'PractitionerRole?organization=Organization/org-b-neuro');
  return [sameSet(ids(r.json), ['role-b-neuro-1', 'role-b-neuro-2', 'role-b-neuro-3']), `${r.status}, ids ${ids(r.json)}`];
});

await check('a5 Practitioner read', 'GET Practitioner/pr-a-cardio-1', async () => {
  const r = await call('GET', 'Practitioner/pr-a-cardio-1');
  return [r.status === 200 && r.json?.name?.[0]?.text === '王建国' && !!etagVersion(r.headers.get('etag')),
    `${r.status}, name ${r.json?.name?.map((n) => n.text).join(' / ')}, ETag ${r.headers.get('etag')}`];
});

await check('a6 Schedule?actor=', 'GET Schedule?actor=PractitionerRole/role-a-cardio-1', async () => {
  const r = await call('GET', 'Schedule?actor=PractitionerRole/role-a-cardio-1');
  return [sameSet(ids(r.json), ['sched-a-cardio-1']), `${r.status}, ids ${ids(r.json)}`];
});

const expectedFree = (schedule, dayIndex) => resources.filter((r) => r.resourceType === 'Slot' && r.schedule.reference === `Schedule/${schedule}` &&
  r.status === 'free' && r.start.startsWith(day(dayIndex))).map((r) => r.id);

{
  const q = `Slot?schedule=Schedule/sched-a-cardio-1&start=ge${day(1)}T00:00:00%2B08:00&start=lt${day(2)}T00:00:00%2B08:00&status=free&_count=100`;
  await check('a7 Slot day window (+08:00)', `GET ${decodeURIComponent(q)}`, async () => {
    const r = await call('GET', q);
    const want = expectedFree('sched-a-cardio-1', 1);
    return [sameSet(ids(r.json), want), `${r.status}, ${ids(r.json).length} slots (seed has ${want.length} free that day)`];
  });
  const qz = `Slot?schedule=Schedule/sched-a-cardio-1&start=ge${day(0)}T16:00:00Z&start=lt${day(1)}T16:00:00Z&status=free&_count=100`;
  await check('a7 same window in UTC (Z)', `GET ${qz}`, async () => {
    const r = await call('GET', qz);
    const want = expectedFree('sched-a-cardio-1', 1);
    return [sameSet(ids(r.json), want), `${r.status}, ${ids(r.json).length} slots (seed has ${want.length})`];
  });
  const qd = `Slot?schedule=Schedule/sched-a-cardio-1&start=${day(1)}&status=free&_count=100`;
  await check('a7 day by date precision', `GET ${qd}`, async () => {
    const r = await call('GET', qd);
    const want = expectedFree('sched-a-cardio-1', 1);
    return [sameSet(ids(r.json), want), `${r.status}, ${ids(r.json).length} slots (seed has ${want.length})`];
  });
  const qraw = `Slot?schedule=Schedule/sched-a-cardio-1&start=ge${day(1)}T00:00:00+08:00&status=free`;
  await check('a7 "+08:00" not percent-encoded', `GET ${qraw}`, async () => {
    const r = await call('GET', qraw);
    return [r.status === 400, r.status === 400 ? outcomeText(r) : `${r.status}, ${ids(r.json).length} slots`];
  });
  const qs = `Slot?schedule=Schedule/sched-b-resp-1&start=ge${day(2)}T00:00:00%2B08:00&start=lt${day(3)}T00:00:00%2B08:00&status=busy-unavailable&_count=100`;
  await check('a7 stopped session', `GET ${decodeURIComponent(qs)}`, async () => {
    const r = await call('GET', qs);
    return [ids(r.json).length === 14, `${r.status}, ${ids(r.json).length} busy-unavailable slots`];
  });
  const qsort = `Slot?schedule=Schedule/sched-a-cardio-1&status=free&_sort=-start&_count=3`;
  await check('a7 _sort=-start', `GET ${qsort}`, async () => {
    const r = await call('GET', qsort);
    const starts = (r.json?.entry ?? []).map((e) => e.resource.start);
    const ok = starts.length === 3 && starts[0] >= starts[1] && starts[1] >= starts[2] && starts[0].startsWith(day(DAYS - 1));
    return [ok, `${r.status}, starts ${starts.join(', ')}`];
  });
}

await check('a8 _count + follow Bundle.link next', 'GET Slot?schedule=Schedule/sched-a-gastro-1&status=free&_count=50, then each link[next].url', async () => {
  let url = 'Slot?schedule=Schedule/sched-a-gastro-1&status=free&_count=50';
  const seen = [];
  let pages = 0;
  let total;
  while (url && pages < 20) {
    const r = await call('GET', url);
    if (r.status !== 200) return [false, `${r.status} on page ${pages + 1}`];
    pages++;
    total ??= r.json.total;
    seen.push(...ids(r.json));
    url = r.json.link?.find((l) => l.relation === 'next')?.url;
  }
  const want = resources.filter((r) => r.resourceType === 'Slot' && r.schedule.reference === 'Schedule/sched-a-gastro-1' && r.status === 'free').length;
  const unique = new Set(seen).size;
  return [pages > 1 && unique === want && seen.length === want,
    `${pages} page(s), ${seen.length} entries (${unique} unique), total ${total}, seed has ${want}`];
}, { pureFails: true });

await check('a8 default page size', 'GET Slot?status=free', async () => {
  const r = await call('GET', 'Slot?status=free');
  const n = r.json?.entry?.length ?? 0;
  return [n === 20 && !!r.json?.link?.some((l) => l.relation === 'next'), `${r.status}, ${n} entries of total ${r.json?.total}, next link: ${!!r.json?.link?.some((l) => l.relation === 'next')}`];
}, { pureFails: true });

await check('a8 _summary=count', 'GET Slot?schedule=Schedule/sched-a-cardio-1&status=free&_summary=count', async () => {
  const r = await call('GET', 'Slot?schedule=Schedule/sched-a-cardio-1&status=free&_summary=count');
  const want = resources.filter((x) => x.resourceType === 'Slot' && x.schedule.reference === 'Schedule/sched-a-cardio-1' && x.status === 'free').length;
  return [r.status === 200 && r.json?.total === want && !r.json?.entry, `${r.status}, total ${r.json?.total} (seed ${want}), ${r.json?.entry?.length ?? 0} entries`];
});

await check('a8 POST _search (form body)', "POST Slot/_search -H 'Content-Type: application/x-www-form-urlencoded' schedule=Schedule/sched-a-cardio-1&_count=3", async () => {
  const res = await fetch(`${base}/Slot/_search`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'schedule=Schedule/sched-a-cardio-1&_count=3' });
  const json = await res.json();
  return [res.status === 200 && json.entry?.length === 3 && json.entry.every((e) => e.resource.schedule.reference === 'Schedule/sched-a-cardio-1'),
    `${res.status} ${json.resourceType}${json.issue ? ' "' + json.issue[0].details?.text + '"' : ', ' + (json.entry?.length ?? 0) + ' entries'}`];
});

await check('a9 _include=Slot:schedule', 'GET Slot?schedule=Schedule/sched-a-cardio-1&_count=2&_include=Slot:schedule', async () => {
  const r = await call('GET', 'Slot?schedule=Schedule/sched-a-cardio-1&_count=2&_include=Slot:schedule');
  return [all(r.json).includes('Schedule/sched-a-cardio-1'), `${r.status}, entries ${all(r.json)}`];
}, { pureFails: true });

await check('a9 _include=PractitionerRole:practitioner', 'GET PractitionerRole?service=HealthcareService/hs-a-gastro&_include=PractitionerRole:practitioner', async () => {
  const r = await call('GET', 'PractitionerRole?service=HealthcareService/hs-a-gastro&_include=PractitionerRole:practitioner');
  const got = all(r.json);
  return [got.includes('Practitioner/pr-a-gastro-1') && got.includes('Practitioner/pr-a-gastro-2'), `${r.status}, entries ${got}`];
}, { pureFails: true });

await check('a9 _revinclude=Schedule:actor', 'GET PractitionerRole?organization=Organization/org-b-resp&_revinclude=Schedule:actor', async () => {
  const r = await call('GET', 'PractitionerRole?organization=Organization/org-b-resp&_revinclude=Schedule:actor');
  const got = all(r.json);
  return [got.includes('Schedule/sched-b-resp-1') && got.includes('Schedule/sched-b-resp-2'), `${r.status}, entries ${got}`];
}, { pureFails: true });

// ------------------------------------------------------------ b. Patient, conditional create

const PATIENT_SYSTEM = 'https://fairslot.example/fhir/sid/patient';
const patientBody = (value) => ({
  resourceType: 'Patient',
  identifier: [{ system: PATIENT_SYSTEM, value }],
  name: [{ text: '测试患者', family: '测', given: ['试'] }],
  gender: 'female',
  birthDate: '1990-01-02',
});

let patientId;
await check('b1 POST Patient', 'POST Patient {Patient}', async () => {
  const r = await call('POST', 'Patient', { body: patientBody('P-0001') });
  patientId = r.json?.id;
  return [r.status === 201 && !!r.headers.get('location') && !!etagVersion(r.headers.get('etag')),
    `${r.status}, Location ${r.headers.get('location')}, ETag ${r.headers.get('etag')}`];
});

await check('b2 conditional create Patient ×2', `POST Patient -H 'If-None-Exist: identifier=${PATIENT_SYSTEM}|P-0002' (twice)`, async () => {
  const h = { 'If-None-Exist': `identifier=${PATIENT_SYSTEM}|P-0002` };
  const r1 = await call('POST', 'Patient', { body: patientBody('P-0002'), headers: h });
  const r2 = await call('POST', 'Patient', { body: patientBody('P-0002'), headers: h });
  const s = await call('GET', `Patient?identifier=${encodeURIComponent(`${PATIENT_SYSTEM}|P-0002`)}`);
  return [r1.status === 201 && r2.status === 200 && r1.json?.id === r2.json?.id && s.json?.total === 1,
    `${r1.status} then ${r2.status}, same id ${r1.json?.id === r2.json?.id}, Patient?identifier total ${s.json?.total}`];
});

await check('b2 If-None-Exist matching an existing Patient', `POST Patient -H 'If-None-Exist: identifier=${PATIENT_SYSTEM}|P-0001'`, async () => {
  const r = await call('POST', 'Patient', { body: patientBody('P-0001'), headers: { 'If-None-Exist': `identifier=${PATIENT_SYSTEM}|P-0001` } });
  return [r.status === 200 && r.json?.id === patientId, `${r.status}, id is the b1 one: ${r.json?.id === patientId}`];
});

const APPT_SYSTEM = 'https://fairslot.example/fhir/sid/booking';
const appointmentBody = (slotId, roleId, value) => ({
  resourceType: 'Appointment',
  identifier: [{ system: APPT_SYSTEM, value }],
  status: 'booked',
  slot: [{ reference: `Slot/${slotId}` }],
  start: resources.find((r) => r.id === slotId).start,
  end: resources.find((r) => r.id === slotId).end,
  participant: [
    { actor: { reference: `Patient/${patientId}` }, status: 'accepted' },
    { actor: { reference: `PractitionerRole/${roleId}` }, status: 'accepted' },
  ],
});

// ------------------------------------------------------------ c. Appointment

const slotC = `slot-a-cardio-2-d03-0900`;
await check('c POST Appointment (booked)', `POST Appointment {status booked, slot Slot/${slotC}, participant Patient + PractitionerRole/role-a-cardio-2}`, async () => {
  const r = await call('POST', 'Appointment', { body: appointmentBody(slotC, 'role-a-cardio-2', 'B-0001') });
  const s1 = await call('GET', `Appointment?slot=Slot/${slotC}`);
  const s2 = await call('GET', `Appointment?patient=Patient/${patientId}&status=booked`);
  const s3 = await call('GET', `Appointment?actor=PractitionerRole/role-a-cardio-2`);
  return [r.status === 201 && s1.json?.total === 1 && s2.json?.total === 1 && s3.json?.total >= 1,
    `${r.status}; Appointment?slot=Slot/… total ${s1.json?.total}; ?patient=Patient/…&status=booked total ${s2.json?.total}; ?actor=PractitionerRole/… total ${s3.json?.total}`];
});

await check('b3 conditional create Appointment ×2', `POST Appointment -H 'If-None-Exist: identifier=${APPT_SYSTEM}|B-0002' (twice)`, async () => {
  const h = { 'If-None-Exist': `identifier=${APPT_SYSTEM}|B-0002` };
  const r1 = await call('POST', 'Appointment', { body: appointmentBody('slot-a-cardio-2-d03-0930', 'role-a-cardio-2', 'B-0002'), headers: h });
  const r2 = await call('POST', 'Appointment', { body: appointmentBody('slot-a-cardio-2-d03-0930', 'role-a-cardio-2', 'B-0002'), headers: h });
  const s = await call('GET', `Appointment?identifier=${encodeURIComponent(`${APPT_SYSTEM}|B-0002`)}`);
  return [r1.status === 201 && r2.status === 200 && r1.json?.id === r2.json?.id && s.json?.total === 1,
    `${r1.status} then ${r2.status}, same id ${r1.json?.id === r2.json?.id}, Appointment?identifier total ${s.json?.total}`];
});

// ------------------------------------------------------------ d. optimistic concurrency

const slotD = 'slot-a-cardio-2-d04-1000';
await check('d If-Match update then stale If-Match', `GET Slot/${slotD}; PUT Slot/${slotD} -H 'If-Match: W/"<v1>"' {status busy}; PUT again with W/"<v1>"`, async () => {
  const g = await call('GET', `Slot/${slotD}`);
  const etag = g.headers.get('etag');
  const v1 = etagVersion(etag);
  if (!v1 || v1 !== g.json?.meta?.versionId) return [false, `GET ${g.status}, ETag ${etag} vs meta.versionId ${g.json?.meta?.versionId}`];
  const u1 = await call('PUT', `Slot/${slotD}`, { body: { ...g.json, status: 'busy' }, headers: { 'If-Match': etag } });
  const u2 = await call('PUT', `Slot/${slotD}`, { body: { ...g.json, status: 'busy' }, headers: { 'If-Match': etag } });
  return [u1.status === 200 && etagVersion(u1.headers.get('etag')) !== v1 && u2.status === 412,
    `GET ${g.status} ETag = W/"meta.versionId"; 1st PUT ${u1.status} new ETag ${u1.headers.get('etag') !== etag}; stale PUT ${u2.status} ${u2.json?.resourceType} "${u2.json?.issue?.[0]?.details?.text}" code ${u2.json?.issue?.[0]?.code}`];
});

await check('d If-Match without W/ and quotes', `PUT Slot/slot-a-cardio-2-d04-1030 -H 'If-Match: <stale version, unquoted>'`, async () => {
  const g = await call('GET', 'Slot/slot-a-cardio-2-d04-1030');
  const u = await call('PUT', g.json ? 'Slot/slot-a-cardio-2-d04-1030' : '', { body: { ...g.json, status: 'busy' }, headers: { 'If-Match': 'not-the-version' } });
  return [u.status === 412 || u.status === 400, u.status === 200
    ? `${u.status}: the router reads only a quoted version ("v" or W/"v"); an unquoted If-Match is ignored and the update goes through`
    : outcomeText(u)];
}, { pureFails: true });

await check('d If-Match quoted without W/', `PUT Slot/slot-a-cardio-2-d04-1100 -H 'If-Match: "<stale>"'`, async () => {
  const g = await call('GET', 'Slot/slot-a-cardio-2-d04-1100');
  const u = await call('PUT', 'Slot/slot-a-cardio-2-d04-1100', { body: { ...g.json, status: 'busy' }, headers: { 'If-Match': '"stale"' } });
  return [u.status === 412, `${u.status}`];
});

// ------------------------------------------------------------ e. transactions

function bookingBundle(slotResource, ifMatchVersion, bookingValue, roleId) {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: `${base}/Slot/${slotResource.id}`,
        resource: { ...slotResource, status: 'busy' },
        request: { method: 'PUT', url: `Slot/${slotResource.id}`, ifMatch: `W/"${ifMatchVersion}"` },
      },
      {
        fullUrl: 'urn:uuid:6f1c2a52-1b1e-4c59-9a55-0d7f3f0f1a01',
        resource: appointmentBody(slotResource.id, roleId, bookingValue),
        request: { method: 'POST', url: 'Appointment', ifNoneExist: `identifier=${APPT_SYSTEM}|${bookingValue}` },
      },
    ],
  };
}

{
  const slotE = 'slot-b-neuro-1-d05-0800';
  await check('e1 transaction: Slot PUT (ifMatch) + Appointment POST (ifNoneExist)', `POST / {Bundle transaction: PUT Slot/${slotE} ifMatch W/"<current>", POST Appointment ifNoneExist identifier=…|B-0100}`, async () => {
    const g = await call('GET', `Slot/${slotE}`);
    const r = await call('POST', '', { body: bookingBundle(g.json, g.json.meta.versionId, 'B-0100', 'role-b-neuro-1') });
    const after = await call('GET', `Slot/${slotE}`);
    const appt = await call('GET', `Appointment?identifier=${encodeURIComponent(`${APPT_SYSTEM}|B-0100`)}`);
    const slotEntry = r.json?.entry?.find((e) => e.resource?.resourceType === 'Slot');
    return [r.status === 200 && r.json?.type === 'transaction-response' && after.json?.status === 'busy' && appt.json?.total === 1,
      `${r.status} ${r.json?.type}, entry responses ${(r.json?.entry ?? []).map((e) => `${e.response?.status} ${e.response?.location ?? ''}`).join(' / ')}; ` +
      `Slot entry response.etag ${slotEntry?.response?.etag ?? '(none)'} = its resource.meta.versionId ${slotEntry?.response?.etag === `W/"${slotEntry?.resource?.meta?.versionId}"`}; slot now ${after.json?.status}; appointments ${appt.json?.total}`];
  });

  await check('e1 repeat of the same transaction', 'POST / {the same Bundle again, now with a stale ifMatch}', async () => {
    const g = await call('GET', `Slot/${slotE}`);
    const history = await call('GET', `Slot/${slotE}/_history`);
    const old = history.json?.entry?.[history.json.entry.length - 1]?.resource?.meta?.versionId;
    const r = await call('POST', '', { body: bookingBundle(g.json, old, 'B-0100', 'role-b-neuro-1') });
    const appt = await call('GET', `Appointment?identifier=${encodeURIComponent(`${APPT_SYSTEM}|B-0100`)}`);
    return [r.status === 412 && appt.json?.total === 1, `${r.status} ${r.json?.resourceType} "${r.json?.issue?.[0]?.details?.text}"; appointments still ${appt.json?.total}`];
  });

  const slotF = 'slot-b-neuro-1-d05-0830';
  await check('e2 atomicity: stale ifMatch must not leave the Appointment', `POST / {Bundle transaction: PUT Slot/${slotF} ifMatch W/"stale", POST Appointment ifNoneExist identifier=…|B-0101}`, async () => {
    const g = await call('GET', `Slot/${slotF}`);
    const r = await call('POST', '', { body: bookingBundle(g.json, 'stale', 'B-0101', 'role-b-neuro-1') });
    const appt = await call('GET', `Appointment?identifier=${encodeURIComponent(`${APPT_SYSTEM}|B-0101`)}`);
    const after = await call('GET', `Slot/${slotF}`);
    return [r.status === 412 && appt.json?.total === 0 && after.json?.status === 'free',
      `${r.status} ${r.json?.resourceType} "${r.json?.issue?.[0]?.details?.text}"; Appointment B-0101 left behind: ${appt.json?.total}; slot ${after.json?.status}`];
  }, { pureFails: true });

  await check('e3 transaction with urn:uuid reference (new Patient + Appointment)', 'POST / {Bundle transaction: POST Patient fullUrl urn:uuid:…, POST Appointment whose participant references that urn}', async () => {
    const urn = 'urn:uuid:0b0c9a2e-3a9f-4d0e-8d0f-1d1e2f3a4b5c';
    const appt = appointmentBody('slot-b-neuro-2-d05-0800', 'role-b-neuro-2', 'B-0102');
    appt.participant[0].actor.reference = urn;
    const r = await call('POST', '', {
      body: {
        resourceType: 'Bundle', type: 'transaction', entry: [
          { fullUrl: urn, resource: patientBody('P-0100'), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${PATIENT_SYSTEM}|P-0100` } },
          { resource: appt, request: { method: 'POST', url: 'Appointment' } },
        ],
      },
    });
    const a = await call('GET', `Appointment?identifier=${encodeURIComponent(`${APPT_SYSTEM}|B-0102`)}`);
    const ref = a.json?.entry?.[0]?.resource?.participant?.[0]?.actor?.reference;
    return [r.status === 200 && /^Patient\/[^/]+$/.test(ref ?? ''), `${r.status}, Appointment participant now ${ref}`];
  });

  await check('e4 two concurrent booking transactions on one Slot version', 'POST / ×2 at once, both with ifMatch of the same Slot version', async () => {
    const slotG = 'slot-b-neuro-2-d05-0900';
    const g = await call('GET', `Slot/${slotG}`);
    const [r1, r2] = await Promise.all([
      call('POST', '', { body: bookingBundle(g.json, g.json.meta.versionId, 'B-0103', 'role-b-neuro-2') }),
      call('POST', '', { body: bookingBundle(g.json, g.json.meta.versionId, 'B-0104', 'role-b-neuro-2') }),
    ]);
    const appts = await call('GET', `Appointment?slot=Slot/${slotG}`);
    const statuses = [r1.status, r2.status].sort().join(' + ');
    return [statuses === '200 + 412' && appts.json?.total === 1, `${statuses}; appointments on the slot: ${appts.json?.total}`];
  }, { pureFails: true });

  await check('e5 batch (type batch) with one failing entry', 'POST / {Bundle batch: GET Slot/nope, GET Practitioner/pr-b-resp-1}', async () => {
    const r = await call('POST', '', {
      body: { resourceType: 'Bundle', type: 'batch', entry: [
        { request: { method: 'GET', url: 'Slot/nope' } },
        { request: { method: 'GET', url: 'Practitioner/pr-b-resp-1' } },
      ] },
    });
    return [r.status === 200 && r.json?.type === 'batch-response', `${r.status} ${r.json?.type}, entry statuses ${(r.json?.entry ?? []).map((e) => e.response?.status).join(' / ')}`];
  });

  await check('e6 transaction entry with unquoted ifMatch', 'POST / {Bundle transaction: PUT Slot/… ifMatch "stale-unquoted" → no quotes}', async () => {
    const slotH = 'slot-b-neuro-2-d05-0930';
    const g = await call('GET', `Slot/${slotH}`);
    const b = bookingBundle(g.json, 'x', 'B-0105', 'role-b-neuro-2');
    b.entry[0].request.ifMatch = 'stale-unquoted';
    const r = await call('POST', '', { body: b });
    const after = await call('GET', `Slot/${slotH}`);
    return [r.status === 400 && after.json?.status === 'free', `${r.status}${r.json?.issue ? ' "' + r.json.issue[0].details?.text + '"' : ''}; slot now ${after.json?.status}`];
  }, { pureFails: true });

  await check('e7 transaction size with a conditional create', 'POST / {Bundle transaction: 9 entries, one with ifNoneExist}', async () => {
    const entry = [];
    for (let i = 0; i < 8; i++) entry.push({ resource: patientBody(`P-09${i}`), request: { method: 'POST', url: 'Patient' } });
    entry.push({ resource: patientBody('P-0999'), request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${PATIENT_SYSTEM}|P-0999` } });
    const r = await call('POST', '', { body: { resourceType: 'Bundle', type: 'transaction', entry } });
    return [r.status === 200, r.status === 200 ? '200' : outcomeText(r)];
  }, { knownGap: true });

  await check('e8 PATCH with stale If-Match', "PATCH Slot/slot-b-neuro-2-d05-1000 -H 'Content-Type: application/json-patch+json' -H 'If-Match: W/\"stale\"' [replace /status busy]", async () => {
    const r = await call('PATCH', 'Slot/slot-b-neuro-2-d05-1000', { body: [{ op: 'replace', path: '/status', value: 'busy' }], headers: { 'If-Match': 'W/"stale"' } });
    return [r.status === 412, r.status === 200 ? '200: If-Match is ignored on PATCH, the patch was applied' : outcomeText(r)];
  }, { knownGap: true });

  await check('e8 PATCH guarded by a JSON Patch test op', 'PATCH Slot/slot-b-neuro-2-d05-1030 [test /meta/versionId "<stale>", replace /status busy]', async () => {
    const g = await call('GET', 'Slot/slot-b-neuro-2-d05-1030');
    const stale = await call('PATCH', 'Slot/slot-b-neuro-2-d05-1030', { body: [{ op: 'test', path: '/meta/versionId', value: 'stale' }, { op: 'replace', path: '/status', value: 'busy' }] });
    const good = await call('PATCH', 'Slot/slot-b-neuro-2-d05-1030', { body: [{ op: 'test', path: '/meta/versionId', value: g.json.meta.versionId }, { op: 'replace', path: '/status', value: 'busy' }] });
    return [stale.status >= 400 && good.status === 200 && good.json?.status === 'busy', `stale: ${outcomeText(stale)}; current: ${good.status} ${good.json?.status}`];
  });

  await check('e9 Prefer: return=minimal', "PUT Slot/slot-b-neuro-2-d05-1100 -H 'Prefer: return=minimal'", async () => {
    const g = await call('GET', 'Slot/slot-b-neuro-2-d05-1100');
    const r = await call('PUT', 'Slot/slot-b-neuro-2-d05-1100', { body: { ...g.json, comment: 'x' }, headers: { Prefer: 'return=minimal', 'If-Match': g.headers.get('etag') } });
    return [r.status === 200 && r.text === '' && !!r.headers.get('etag'), `${r.status}, body ${r.text.length} bytes, ETag ${r.headers.get('etag')}`];
  });
}

// ------------------------------------------------------------ f. errors


await check('f not found (read)', 'GET Slot/does-not-exist', async () => {
  const r = await call('GET', 'Slot/does-not-exist');
  return [r.status === 404 && r.json?.resourceType === 'OperationOutcome', outcomeText(r)];
});
await check('f unknown resource type', 'GET Foo', async () => {
  const r = await call('GET', 'Foo');
  return [r.status >= 400 && r.json?.resourceType === 'OperationOutcome', r.status < 400 ? `${r.status} ${r.json?.resourceType} total ${r.json?.total}` : outcomeText(r)];
}, { pureFails: true });
await check('f unknown search parameter', 'GET Slot?foo=bar', async () => {
  const r = await call('GET', 'Slot?foo=bar');
  return [r.status === 400 && r.json?.resourceType === 'OperationOutcome', r.status < 400 ? `${r.status} ${r.json?.resourceType} total ${r.json?.total} (no error; with an unknown parameter nothing matches)` : outcomeText(r)];
}, { pureFails: true });
await check('f bad date in search', 'GET Slot?start=ge2024-99-99', async () => {
  const r = await call('GET', 'Slot?start=ge2024-99-99');
  return [r.status === 400 && r.json?.resourceType === 'OperationOutcome', outcomeText(r)];
});
await check('f body type ≠ URL type', "POST Patient {resourceType: 'Slot'}", async () => {
  const r = await call('POST', 'Patient', { body: { resourceType: 'Slot', status: 'free' } });
  return [r.status === 400 && r.json?.resourceType === 'OperationOutcome', outcomeText(r)];
});
await check('f invalid JSON', 'POST Patient {not json', async () => {
  const r = await call('POST', 'Patient', { body: '{not json' });
  return [r.status === 400 && r.json?.resourceType === 'OperationOutcome', outcomeText(r)];
});
await check('f invalid resource content', "POST Patient {gender: 'x', birthDate: 'yesterday', foo: 1}", async () => {
  const r = await call('POST', 'Patient', { body: { resourceType: 'Patient', gender: 'x', birthDate: 'yesterday', foo: 1 } });
  return [r.status === 400, r.status === 400 ? outcomeText(r) : `${r.status} — stored as sent: no validation`];
}, { pureFails: true });
await check('f invalid Slot status', "PUT Slot/slot-a-ortho-1-d06-0800 {status: 'taken'}", async () => {
  const g = await call('GET', 'Slot/slot-a-ortho-1-d06-0800');
  const r = await call('PUT', 'Slot/slot-a-ortho-1-d06-0800', { body: { ...g.json, status: 'taken' } });
  return [r.status === 400, r.status === 400 ? outcomeText(r) : `${r.status} — stored as sent: code bindings are not checked`];
}, { knownGap: true });
await check('f PUT id ≠ URL id', "PUT Slot/slot-a-ortho-1-d06-0830 {id: 'other'}", async () => {
  const g = await call('GET', 'Slot/slot-a-ortho-1-d06-0830');
  const r = await call('PUT', 'Slot/slot-a-ortho-1-d06-0830', { body: { ...g.json, id: 'other' } });
  return [r.status === 400, outcomeText(r)];
});
await check('f conditional create matching 2', "POST Slot -H 'If-None-Exist: schedule=Schedule/sched-a-ortho-1'", async () => {
  const r = await call('POST', 'Slot', { body: { resourceType: 'Slot', status: 'free', schedule: { reference: 'Schedule/sched-a-ortho-1' }, start: '2030-01-01T08:00:00+08:00', end: '2030-01-01T08:30:00+08:00' }, headers: { 'If-None-Exist': 'schedule=Schedule/sched-a-ortho-1' } });
  return [r.status === 412, outcomeText(r)];
});
await check('f path outside /fhir/R4', 'GET http://127.0.0.1:PORT/other', async () => {
  const r = await call('GET', base.replace('/fhir/R4', '/other'));
  return [r.status === 404, outcomeText(r)];
});

child.kill('SIGTERM');
const works = rows.filter((r) => r.verdict === 'works').length;
const known = rows.filter((r) => r.verdict.startsWith('does not')).length;
console.log(`# ${rows.length} checks: ${works} work, ${known} do not as expected (${pure ? 'known gaps + --pure' : 'known gaps'}), ${failures} unexpected`);
process.exit(failures ? 1 : 0);
