// Deterministic seed data for the e2e FHIR server (see README.md, "Data set").
//
// Everything but the dates is fixed: the same ids, names and busy pattern on
// every run.  Slots cover 14 days starting "today" in hospital time (UTC+08:00),
// or the day given as { today: 'YYYY-MM-DD' }.  Slot ids name the day by its
// offset from today (d00 … d13), so they are the same on every day too.
//
// Two hospitals, two ways to model departments:
//   hosp-a: departments are HealthcareService (providedBy → hosp-a); the first
//           level group (内科 / 外科) is HealthcareService.category.
//   hosp-b: departments are Organization, two levels of partOf:
//           hosp-b ← group (内科 / 儿科) ← department.
//
// Bilingual text: a Chinese string with the English one in the standard
// translation extension on the primitive (e.g. HealthcareService.name +
// _name.extension[translation]).  Organization additionally has the English
// name in alias[0].  Practitioner has two HumanName entries: name[0] Chinese,
// name[1] English, each tagged with the standard language extension.

import { pathToFileURL } from 'node:url';

export const HOSPITAL_UTC_OFFSET = '+08:00';
export const HOSPITAL_TIMEZONE = 'Asia/Shanghai';
export const DAYS = 14;
export const SLOT_MINUTES = 30;
export const SESSIONS = [
  { name: 'morning', start: '08:00', end: '12:00' },
  { name: 'afternoon', start: '14:00', end: '17:00' },
];

const NS = 'https://fairslot.example/fhir';
export const SYSTEMS = {
  hospitalId: `${NS}/sid/hospital`,
  departmentId: `${NS}/sid/department`,
  doctorId: `${NS}/sid/doctor`,
  departmentGroup: `${NS}/CodeSystem/department-group`,
  department: `${NS}/CodeSystem/department`,
  doctorTitle: `${NS}/CodeSystem/doctor-title`,
  hospitalLevel: `${NS}/CodeSystem/hospital-level`,
};
const EXT_FEE = `${NS}/StructureDefinition/registration-fee`;
// Registration fee (CNY) by title; only hospital A publishes fees, so B shows their absence.
const FEES = { chief: 50, associate: 30, attending: 15, resident: 8 };
const EXT_TRANSLATION = 'http://hl7.org/fhir/StructureDefinition/translation';
const EXT_LANGUAGE = 'http://hl7.org/fhir/StructureDefinition/language';
const EXT_TIMEZONE = 'http://hl7.org/fhir/StructureDefinition/timezone';
const ORG_TYPE = 'http://terminology.hl7.org/CodeSystem/organization-type';
const ROLE_CODE = 'http://terminology.hl7.org/CodeSystem/practitioner-role';

const TITLES = {
  chief: { code: 'chief-physician', zh: '主任医师', en: 'Chief Physician' },
  associate: { code: 'associate-chief-physician', zh: '副主任医师', en: 'Associate Chief Physician' },
  attending: { code: 'attending-physician', zh: '主治医师', en: 'Attending Physician' },
  resident: { code: 'resident-physician', zh: '住院医师', en: 'Resident Physician' },
};

// doctors: [family zh, given zh, family en, given en, gender, title key]
const HOSPITALS = [
  {
    id: 'hosp-a',
    style: 'HealthcareService',
    level: '3A',
    fees: true,
    zh: '青城市第一人民医院',
    en: "Qingcheng First People's Hospital",
    address: { line: ['人民路1号'], city: '青城市', district: '东城区', state: '青川省', postalCode: '610001' },
    addressEn: 'No. 1 Renmin Road, Dongcheng District, Qingcheng',
    districtEn: 'Dongcheng District',
    phone: '+86-28-0000-0001',
    groups: [
      {
        key: 'im',
        zh: '内科',
        en: 'Internal Medicine',
        departments: [
          {
            key: 'cardio', zh: '心内科', en: 'Cardiology',
            doctors: [
              ['王', '建国', 'Wang', 'Jianguo', 'male', 'chief'],
              ['李', '秀英', 'Li', 'Xiuying', 'female', 'associate'],
              ['张', '伟', 'Zhang', 'Wei', 'male', 'attending'],
            ],
          },
          {
            key: 'gastro', zh: '消化内科', en: 'Gastroenterology',
            doctors: [
              ['刘', '芳', 'Liu', 'Fang', 'female', 'chief'],
              ['陈', '明', 'Chen', 'Ming', 'male', 'attending'],
            ],
          },
        ],
      },
      {
        key: 'surg',
        zh: '外科',
        en: 'Surgery',
        departments: [
          {
            key: 'ortho', zh: '骨科', en: 'Orthopaedics',
            doctors: [
              ['杨', '强', 'Yang', 'Qiang', 'male', 'associate'],
              ['赵', '丽', 'Zhao', 'Li', 'female', 'resident'],
            ],
          },
        ],
      },
    ],
  },
  {
    id: 'hosp-b',
    style: 'Organization',
    zh: '江南市中心医院',
    en: 'Jiangnan Central Hospital',
    address: { line: ['中山路88号'], city: '江南市', district: '西湖区', state: '江南省', postalCode: '310002' },
    addressEn: 'No. 88 Zhongshan Road, Xihu District, Jiangnan',
    districtEn: 'Xihu District',
    phone: '+86-571-0000-0002',
    groups: [
      {
        key: 'im',
        zh: '内科',
        en: 'Internal Medicine',
        departments: [
          {
            key: 'resp', zh: '呼吸内科', en: 'Respiratory Medicine',
            doctors: [
              ['黄', '志强', 'Huang', 'Zhiqiang', 'male', 'chief'],
              ['周', '敏', 'Zhou', 'Min', 'female', 'attending'],
            ],
          },
          {
            key: 'neuro', zh: '神经内科', en: 'Neurology',
            doctors: [
              ['吴', '静', 'Wu', 'Jing', 'female', 'associate'],
              ['徐', '磊', 'Xu', 'Lei', 'male', 'attending'],
              ['孙', '洋', 'Sun', 'Yang', 'male', 'resident'],
            ],
          },
        ],
      },
      {
        key: 'peds',
        zh: '儿科',
        en: 'Paediatrics',
        departments: [
          {
            key: 'pedgen', zh: '小儿内科', en: 'General Paediatrics',
            doctors: [
              ['马', '红', 'Ma', 'Hong', 'female', 'chief'],
              ['朱', '军', 'Zhu', 'Jun', 'male', 'attending'],
            ],
          },
        ],
      },
    ],
  },
];

/** The PractitionerRole whose whole day d02 is status busy-unavailable (停诊, session stopped). */
export const STOPPED_DAY = { role: 'role-b-resp-1', day: 2 };

// ---------------------------------------------------------------- helpers

function translated(en) {
  return { extension: [{ url: EXT_TRANSLATION, extension: [{ url: 'lang', valueCode: 'en' }, { url: 'content', valueString: en }] }] };
}

function coding(system, code, zh, en) {
  return { system, code, display: zh, _display: translated(en) };
}

function concept(system, code, zh, en) {
  return { coding: [coding(system, code, zh, en)], text: zh };
}

function ref(type, id, display) {
  return display ? { reference: `${type}/${id}`, display } : { reference: `${type}/${id}` };
}

/** Today's date in hospital time (UTC+08:00) as YYYY-MM-DD. */
export function hospitalToday(now = new Date()) {
  return new Date(now.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

function addDays(date, days) {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function minutes(hhmm) {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

function hhmm(mins) {
  return `${String(Math.floor(mins / 60)).padStart(2, '0')}:${String(mins % 60).padStart(2, '0')}`;
}

function localDateTime(date, mins) {
  return `${date}T${hhmm(mins)}:00${HOSPITAL_UTC_OFFSET}`;
}

// ---------------------------------------------------------------- build

/**
 * Builds the data set.
 * @param {{ today?: string }} [options] today: first slot day (YYYY-MM-DD), default today in UTC+08:00.
 * @returns {{ today: string, resources: object[], index: object }}
 */
export function buildSeed(options = {}) {
  const today = options.today ?? hospitalToday();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(today)) {
    throw new Error(`today must be YYYY-MM-DD, got ${today}`);
  }
  const resources = [];
  const index = { hospitals: [], departments: [], doctors: [] };
  let doctorNumber = 0;

  for (const h of HOSPITALS) {
    const hospitalCode = h.id.slice(-1); // 'a' | 'b'
    resources.push({
      resourceType: 'Organization',
      id: h.id,
      extension: [{ url: EXT_TIMEZONE, valueCode: HOSPITAL_TIMEZONE }],
      identifier: [{ system: SYSTEMS.hospitalId, value: h.id }],
      active: true,
      type: [
        { coding: [{ system: ORG_TYPE, code: 'prov', display: 'Healthcare Provider' }] },
        // Hospital B states no grade: the app must do without one.
        ...(h.level ? [{ coding: [{ system: SYSTEMS.hospitalLevel, code: h.level }] }] : []),
      ],
      name: h.zh,
      _name: translated(h.en),
      alias: [h.en],
      telecom: [{ system: 'phone', value: h.phone, use: 'work' }],
      address: [
        {
          use: 'work',
          type: 'physical',
          text: `${h.address.state}${h.address.city}${h.address.district}${h.address.line[0]}`,
          _text: translated(h.addressEn),
          ...h.address,
          _district: translated(h.districtEn),
          country: 'CN',
        },
      ],
    });
    index.hospitals.push({ id: h.id, zh: h.zh, en: h.en, style: h.style });

    for (const g of h.groups) {
      const groupCoding = coding(SYSTEMS.departmentGroup, g.key, g.zh, g.en);
      let groupOrgId;
      if (h.style === 'Organization') {
        groupOrgId = `org-${hospitalCode}-${g.key}`;
        resources.push({
          resourceType: 'Organization',
          id: groupOrgId,
          identifier: [{ system: SYSTEMS.departmentId, value: groupOrgId }],
          active: true,
          type: [
            { coding: [{ system: ORG_TYPE, code: 'dept', display: 'Hospital Department' }] },
            { coding: [groupCoding], text: g.zh },
          ],
          name: g.zh,
          _name: translated(g.en),
          alias: [g.en],
          partOf: ref('Organization', h.id, h.zh),
        });
      }

      for (const d of g.departments) {
        const deptConcept = concept(SYSTEMS.department, d.key, d.zh, d.en);
        let deptId;
        if (h.style === 'HealthcareService') {
          deptId = `hs-${hospitalCode}-${d.key}`;
          resources.push({
            resourceType: 'HealthcareService',
            id: deptId,
            identifier: [{ system: SYSTEMS.departmentId, value: deptId }],
            active: true,
            providedBy: ref('Organization', h.id, h.zh),
            category: [{ coding: [groupCoding], text: g.zh }],
            type: [deptConcept],
            specialty: [deptConcept],
            name: d.zh,
            _name: translated(d.en),
          });
        } else {
          deptId = `org-${hospitalCode}-${d.key}`;
          resources.push({
            resourceType: 'Organization',
            id: deptId,
            identifier: [{ system: SYSTEMS.departmentId, value: deptId }],
            active: true,
            type: [
              { coding: [{ system: ORG_TYPE, code: 'dept', display: 'Hospital Department' }] },
              deptConcept,
            ],
            name: d.zh,
            _name: translated(d.en),
            alias: [d.en],
            partOf: ref('Organization', groupOrgId, g.zh),
          });
        }
        const deptIndex = { id: deptId, resourceType: h.style, hospital: h.id, group: g.key, zh: d.zh, en: d.en, doctors: [] };
        index.departments.push(deptIndex);

        d.doctors.forEach(([familyZh, givenZh, familyEn, givenEn, gender, titleKey], i) => {
          const n = i + 1;
          const key = `${hospitalCode}-${d.key}-${n}`;
          const title = TITLES[titleKey];
          const practitionerId = `pr-${key}`;
          const roleId = `role-${key}`;
          const scheduleId = `sched-${key}`;
          const zhName = familyZh + givenZh;
          resources.push({
            resourceType: 'Practitioner',
            id: practitionerId,
            identifier: [{ system: SYSTEMS.doctorId, value: practitionerId }],
            active: true,
            name: [
              {
                extension: [{ url: EXT_LANGUAGE, valueCode: 'zh-CN' }],
                use: 'official',
                text: zhName,
                family: familyZh,
                given: [givenZh],
              },
              {
                extension: [{ url: EXT_LANGUAGE, valueCode: 'en' }],
                use: 'official',
                text: `${givenEn} ${familyEn}`,
                family: familyEn,
                given: [givenEn],
              },
            ],
            gender,
            qualification: [{ code: concept(SYSTEMS.doctorTitle, title.code, title.zh, title.en) }],
          });
          const role = {
            resourceType: 'PractitionerRole',
            id: roleId,
            active: true,
            practitioner: ref('Practitioner', practitionerId, zhName),
            organization: h.style === 'HealthcareService' ? ref('Organization', h.id, h.zh) : ref('Organization', deptId, d.zh),
            code: [
              { coding: [{ system: ROLE_CODE, code: 'doctor', display: 'Doctor' }] },
              concept(SYSTEMS.doctorTitle, title.code, title.zh, title.en),
            ],
            specialty: [deptConcept],
          };
          if (h.fees) {
            role.extension = [{ url: EXT_FEE, valueMoney: { value: FEES[titleKey], currency: 'CNY' } }];
          }
          if (h.style === 'HealthcareService') {
            role.healthcareService = [ref('HealthcareService', deptId, d.zh)];
          }
          resources.push(role);
          resources.push({
            resourceType: 'Schedule',
            id: scheduleId,
            active: true,
            serviceCategory: [{ coding: [groupCoding], text: g.zh }],
            specialty: [deptConcept],
            actor: [ref('PractitionerRole', roleId, `${zhName} ${title.zh}`)],
            planningHorizon: {
              start: localDateTime(today, 0),
              end: localDateTime(addDays(today, DAYS), 0),
            },
            comment: `${h.zh} ${d.zh} ${zhName}`,
          });

          const doctorIndex = { practitioner: practitionerId, role: roleId, schedule: scheduleId, zh: zhName, en: `${givenEn} ${familyEn}`, title: title.zh };
          deptIndex.doctors.push(doctorIndex);
          index.doctors.push({ ...doctorIndex, department: deptId, hospital: h.id });

          doctorNumber++;
          for (let day = 0; day < DAYS; day++) {
            const date = addDays(today, day);
            const stopped = roleId === STOPPED_DAY.role && day === STOPPED_DAY.day;
            let slotNumber = 0;
            for (const session of SESSIONS) {
              for (let t = minutes(session.start); t + SLOT_MINUTES <= minutes(session.end); t += SLOT_MINUTES) {
                // A fixed ~1 in 9 pattern of busy (already booked) slots.
                const busy = (doctorNumber * 5 + day * 3 + slotNumber) % 9 === 0;
                const slot = {
                  resourceType: 'Slot',
                  id: `slot-${key}-d${String(day).padStart(2, '0')}-${hhmm(t).replace(':', '')}`,
                  schedule: ref('Schedule', scheduleId),
                  specialty: [deptConcept],
                  status: stopped ? 'busy-unavailable' : busy ? 'busy' : 'free',
                  start: localDateTime(date, t),
                  end: localDateTime(date, t + SLOT_MINUTES),
                };
                if (stopped) slot.comment = '停诊 (session stopped)';
                resources.push(slot);
                slotNumber++;
              }
            }
          }
        });
      }
    }
  }
  return { today, resources, index };
}

/**
 * Writes the data set into a FhirRepository (ids are kept as given).
 * @returns {Promise<string>} a one-line summary
 */
export async function seedRepository(repo, options = {}) {
  const { today, resources } = buildSeed(options);
  const counts = {};
  for (const r of resources) {
    await repo.createResource(r);
    counts[r.resourceType] = (counts[r.resourceType] ?? 0) + 1;
  }
  return `${resources.length} resources from ${today} (UTC+08:00): ` +
    Object.entries(counts).map(([t, n]) => `${n} ${t}`).join(', ');
}

// `node e2e/fhir/seed.mjs [--today YYYY-MM-DD]` prints the data set as a FHIR
// transaction Bundle of PUTs (handy to load into another server).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--today');
  const { resources } = buildSeed({ today: i > 0 ? process.argv[i + 1] : undefined });
  process.stdout.write(JSON.stringify({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: resources.map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } })),
  }, null, 1) + '\n');
}
