/** MQTT: the embedded aedes broker with auth and per-device ACL, the operator connection, Mosquitto export. */
export * from './acl';
export * from './authenticator';
export * from './broker-runtime';
export * from './connection';
export * from './credentials';
export * from './embedded-broker';
export * from './in-process-operator';
export * from './mosquitto-export';
export * from './operator-connection';
export * from './operator-credentials';
