/**
 * The job groups (store/port.ts JobGroup) the QStash API's queues and flow-control keys are, one namespace per
 * owner, so that two tokens' queues of the same name are two queues.
 */
const QUEUE = 'qstash-queue';
const FLOW = 'qstash-flow';

const key = (kind: string, owner: string | null, name: string) => `${kind}\n${owner ?? ''}\n${name}`;

export const queueKey = (owner: string | null, name: string) => key(QUEUE, owner, name);
export const flowControlKey = (owner: string | null, name: string) => key(FLOW, owner, name);
/** The prefix of every queue key of the owner's (store.groups). */
export const queuePrefix = (owner: string | null) => key(QUEUE, owner, '');
/** A queue's name from its key. */
export const nameOf = (groupKey: string) => groupKey.slice(groupKey.lastIndexOf('\n') + 1);

/** Queue, URL group and flow-control names: QStash's alphabet. */
export const NAME = /^[A-Za-z0-9._-]{1,100}$/;
