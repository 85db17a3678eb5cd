/**
 * The demo's Web Push page (docs/push.md), served by the demo upstream and opened through the gateway
 * (`http://127.0.0.1:8080/push`), so its calls to `/_async/…` are same-origin. It subscribes the browser with
 * the gateway's VAPID key, registers the subscription, and starts a report with `Asyncgate-Push: on`; the
 * service worker shows the notification when the job ends. A real browser and its push service are needed
 * (headless browsers have none); the server side is what the tests check.
 */
export const PUSH_PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>asyncgate demo: Web Push</title>
<style>body{font:16px system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}button{font:inherit;margin:.25rem 0}pre{background:#f4f4f4;padding:.5rem;white-space:pre-wrap}</style>
<h1>Web Push from asyncgate</h1>
<p>1. Subscribe this browser. 2. Start a report that takes a few seconds. 3. Close this tab if you like: a
notification says when the job has ended.</p>
<button id="subscribe">Subscribe</button>
<button id="start" disabled>Start a 5 s report with Asyncgate-Push: on</button>
<pre id="log"></pre>
<script type="module">
const log = (line) => (document.getElementById('log').textContent += line + '\\n');
let registration;
document.getElementById('subscribe').onclick = async () => {
  try {
    const { publicKey } = await (await fetch('/_async/push-key')).json();
    registration = await navigator.serviceWorker.register('/push/sw.js');
    if ((await Notification.requestPermission()) !== 'granted') return log('notifications are not allowed');
    const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: publicKey });
    const res = await fetch('/_async/push-subscriptions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(subscription) });
    log('subscribed: ' + res.status + ' ' + (await res.text()));
    document.getElementById('start').disabled = !res.ok;
  } catch (error) {
    log('could not subscribe: ' + error);
  }
};
document.getElementById('start').onclick = async () => {
  const res = await fetch('/reports/2026?seconds=5', { headers: { prefer: 'respond-async', 'asyncgate-push': 'on' } });
  log('started: ' + res.status + ' ' + res.headers.get('location'));
};
</script>
</html>
`;

/** The service worker: shows each message as a notification, and opens the monitor when it is clicked. */
export const PUSH_WORKER = `self.addEventListener('push', (event) => {
  const m = event.data ? event.data.json() : {};
  event.waitUntil(self.registration.showNotification('asyncgate: job ' + (m.status || 'ended'), { body: m.job_id || '', data: m.status_url }));
});
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  if (event.notification.data) event.waitUntil(self.clients.openWindow(event.notification.data));
});
`;
