/** Reading a status representation: the pure reader lives in protocol/ (the gateway follows upstreams with it too). */
export * from '../protocol/operation-status.js';
