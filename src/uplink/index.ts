// Public surface of the sensor uplink (the sensor side of the backend transport): the uplink,
// enrollment helpers and the spool; the protocol itself is src/wire (re-exported for convenience).
export { SensorUplink, type SensorUplinkOptions, type UplinkCounters } from './uplink.ts';
export { enroll, loadCredentials, createKeyAndCsr, type SensorCredentials } from './enroll.ts';
export { Spool } from './spool.ts';
export * from '../wire/protocol.ts';
