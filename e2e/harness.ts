// What every reference server the browser tests start is told beyond its defaults.
//
// Every test's browser comes from 127.0.0.1, so the limits meant to tell strangers' addresses
// apart would count the whole suite as one address: they are raised here and shown with their
// defaults by the server's own attack suite (server/tests/api/attacks.rs). Tests also route
// config.json to deployments of their own on loopback ports (a FHIR server, a partner's page),
// so the page's CSP may call and be framed by loopback origins besides what config.json names.
// The booking rules, the proof lockout and the rest of the CSP stay as deployed.
export const SERVER_ARGS = [
  '--csp-connect-src', 'http://127.0.0.1:*',
  '--csp-frame-ancestors', 'http://127.0.0.1:*',
  '--ip-requests-per-minute', '1000000',
  '--ip-proofs-per-minute', '1000000',
  '--ip-holds-per-minute', '100000',
  '--ip-live-holds', '100000',
  '--ip-direct-bookings-per-hour', '0',
  '--max-connections-per-ip', '100000',
];
