// Public surface of the transport (sensor side): the uplink, enrollment helpers and the protocol.
export { SensorUplink, type SensorUplinkOptions, type UplinkCounters } from './uplink.ts';
export { enroll, loadCredentials, createKeyAndCsr, type SensorCredentials } from './enroll.ts';
export { Spool } from './spool.ts';
export * from './protocol.ts';
