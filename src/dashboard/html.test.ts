import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Script } from 'node:vm';
import { SCRIPT } from './assets/script.js';
import { STYLE } from './assets/style.js';
import { html, raw } from './html.js';
import { signInBody } from './pages.js';

test('html escapes every interpolated value, in text and in attributes; Html and arrays pass through', () => {
  const evil = '<script>alert("x")</script>&\'';
  assert.equal(html`<p title="${evil}">${evil}</p>`.text, '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p>');
  assert.equal(html`<ul>${['a<', 'b'].map((x) => html`<li>${x}</li>`)}</ul>`.text, '<ul><li>a&lt;</li><li>b</li></ul>');
  assert.equal(html`${null}${undefined}${false}${0}${raw('<br>')}`.text, '0<br>');
});

test('a next= from the query cannot inject markup into the sign-in form', () => {
  const page = signInBody('/_async/dashboard', '/_async/dashboard"><script>x</script>', undefined).text;
  assert.ok(!page.includes('<script>x'), page);
});

test('the script parses as browser JavaScript, and the assets are self-contained (no remote URL)', () => {
  assert.doesNotThrow(() => new Script(SCRIPT, { filename: 'console.js' }));
  for (const asset of [SCRIPT, STYLE]) assert.doesNotMatch(asset, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
});
