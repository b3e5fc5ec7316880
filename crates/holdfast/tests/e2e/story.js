// The web interface's story in a real browser (Debian's chromium, driven by playwright-core):
// a reporter files a phishing report with two names → staff sign in, find it in the queue,
// acknowledge, assess (a refused form first), hold one name and block the other → the Rust
// test checks with a DNS query that the held name left the zone → the hold is undone and the
// name is back → the reporter sees the assessment → the registry files a Security Response
// Waiver request → the reviewer asks for information, gets it, issues a waiver → the
// after-action report is published with one passage redacted, and the redacted phrase is absent
// from the published page. Each step checks what the page shows and saves a screenshot.
//
// Run by crates/holdfast/tests/ui (cargo nextest) with HOLDFAST_URL, E2E_ARTIFACTS and
// E2E_PROFILE set. It asks the Rust side for DNS checks on stdout ("DNS-CHECK name") and reads
// the answer ("gone" or "present") on stdin.

'use strict';

const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const crypto = require('crypto');

const base = process.env.HOLDFAST_URL;
const artifacts = process.env.E2E_ARTIFACTS;
const profile = process.env.E2E_PROFILE;
const password = 'holdfast-demo-password';
const held = 'login6.demo';
const blocked = 'phish-kit-login.demo';
const hostile = '<script>alert("x")</script> bank phishing kit';
const course = 'We hold the phishing name and block its look-alike.';

const lines = readline.createInterface({ input: process.stdin });
const answers = lines[Symbol.asyncIterator]();

let shot = 0;
async function screenshot(page, name) {
  shot += 1;
  const file = path.join(artifacts, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
}

function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

async function text(page, selector) {
  return (await page.locator(selector).first().innerText()).trim();
}

async function bodyText(page) {
  return page.locator('body').innerText();
}

async function signIn(page, email) {
  await page.goto(`${base}/`);
  check(page.url().startsWith(`${base}/signin`), `not signed in, / goes to sign-in (${page.url()})`);
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
  const body = await bodyText(page);
  check(body.includes(`Signed in as ${email}`), `signed in as ${email}: ${body}`);
}

async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForLoadState();
  check((await bodyText(page)).includes('You are signed out.'), 'signed out');
}

/// Reloads the page until `done(body)` holds (the action runs in the background), at most
/// `tries` times.
async function until(page, what, done, tries = 120) {
  for (let i = 0; i < tries; i += 1) {
    const body = await bodyText(page);
    if (done(body)) {
      return body;
    }
    await page.waitForTimeout(250);
    await page.reload();
  }
  throw new Error(`gave up waiting: ${what}\n${await bodyText(page)}`);
}

async function askDns(name) {
  console.log(`DNS-CHECK ${name}`);
  const next = await answers.next();
  return next.value;
}

async function main() {
  fs.mkdirSync(artifacts, { recursive: true });
  // The story runs with JavaScript off: every core flow must work without it. A second
  // browser, with JavaScript on, then checks that htmx loads under the pages' content security
  // policy without a single error.
  const context = await launch(path.join(profile, 'no-script'), false);
  const page = context.pages()[0] || (await context.newPage());
  try {
    await story(page);
    await waiverStory(page);
    await statisticsStory(page);
  } catch (error) {
    await screenshot(page, 'failure').catch(() => {});
    throw error;
  } finally {
    await context.close();
  }
  const scripted = await launch(path.join(profile, 'script'), true);
  const second = scripted.pages()[0] || (await scripted.newPage());
  try {
    await withScript(second);
  } catch (error) {
    await screenshot(second, 'failure-with-script').catch(() => {});
    throw error;
  } finally {
    await scripted.close();
    lines.close();
  }
  console.log('STORY PASSED');
}

async function launch(dir, javaScriptEnabled) {
  return chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    javaScriptEnabled,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/// With JavaScript on: htmx loads from Holdfast, the pages raise no error and break no rule of
/// their content security policy, and the queue refreshes itself through htmx.
async function withScript(page) {
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await signIn(page, 'registry@demo.example');
  await page.goto(`${base}/desk`);
  const version = await page.evaluate(() => window.htmx && window.htmx.version);
  check(version === '2.0.11', `htmx 2.0.11 is loaded from Holdfast (${version})`);
  const refreshed = page.waitForResponse((response) => response.url().startsWith(`${base}/desk?`));
  await page.evaluate(() => {
    const queue = document.querySelector('#queue');
    return window.htmx.ajax('GET', queue.getAttribute('hx-get'), {
      target: '#queue', select: '#queue', swap: 'outerHTML',
    });
  });
  check((await refreshed).status() === 200, 'the queue refreshes through htmx');
  check(
    (await page.locator('#queue a', { hasText: /^Case \d+$/ }).count()) === 1,
    'the refreshed queue still lists the case',
  );
  const caseLink = page.locator('#queue a', { hasText: /^Case \d+$/ }).first();
  await caseLink.click();
  await page.waitForLoadState();
  await screenshot(page, 'with-script-case');
  // Every control of the desk's pages has a label a screen reader can read.
  for (const where of [page.url(), `${base}/desk`, `${base}/desk/actions`, `${base}/`]) {
    await page.goto(where);
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter((control) => control.labels.length === 0 && !control.getAttribute('aria-label'))
        .map((control) => control.outerHTML));
    check(unlabelled.length === 0, `unlabelled controls on ${where}: ${unlabelled.join(' ')}`);
  }
  check(errors.length === 0, `no script errors or policy refusals in the pages: ${errors.join('\n')}`);
}

/// The story, with JavaScript off.
async function story(page) {
  // 1. The reporter signs in and files a report with two names through the public form.
  await signIn(page, 'reporter@demo.example');
  check((await text(page, 'h1')) === 'Welcome', 'the reporter lands on the home page');
  check(!(await bodyText(page)).includes('Queue'), 'a reporter has no queue in the navigation');
  await screenshot(page, 'reporter-home');
  await page.getByRole('link', { name: 'Report abuse', exact: true }).first().click();
  check((await bodyText(page)).includes('Signed in as reporter@demo.example'), 'the form knows the reporter');
  await page.getByLabel('What is the threat?').selectOption('phishing');
  await page.getByLabel('Domain names, one per line').fill(`${held}\n${blocked}`);
  await page.getByLabel('URLs (optional), one per line').fill(`https://${held}/verify-account`);
  await page.getByLabel('What did you see?').fill(hostile);
  const evidence = Buffer.from('From: bank <support@login6.demo>\nVerify your account now.\n');
  const evidenceSha = crypto.createHash('sha256').update(evidence).digest('hex');
  await page.getByLabel(/Evidence file/).setInputFiles({ name: 'phishing-mail.txt', mimeType: 'text/plain', buffer: evidence });
  await screenshot(page, 'report-form');
  await page.getByRole('button', { name: 'Send the report' }).click();
  await page.waitForLoadState();
  check(page.url().startsWith(`${base}/portal`), `after filing, the portal (${page.url()})`);
  const filed = await bodyText(page);
  const reportId = (filed.match(/Report (\d+) is filed/) || [])[1];
  check(reportId, `the portal names the new report: ${filed}`);
  check(filed.includes('2 names, 2 in the registry'), `both names are counted: ${filed}`);
  check((await text(page, `#report-${reportId} + dl strong`)) === 'new', 'the report is new');
  check(filed.includes(evidenceSha), `the portal shows the evidence file's SHA-256: ${filed}`);
  await screenshot(page, 'reporter-portal-filed');
  await signOut(page);

  // 2. Staff sign in and find the case in the queue, nearest deadline first.
  await signIn(page, 'registry@demo.example');
  await page.getByRole('link', { name: 'Queue', exact: true }).click();
  await page.waitForLoadState();
  const queue = await bodyText(page);
  check(/Case \d+\s+new\s+phishing/.test(queue), `the queue lists a new phishing case: ${queue}`);
  check(/in \d+ min/.test(queue), `the queue counts down to the acknowledgment: ${queue}`);
  await screenshot(page, 'queue');
  await page.getByLabel('Threat type').selectOption('malware');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForLoadState();
  check((await bodyText(page)).includes('No cases match.'), 'the threat filter hides the phishing case');
  await page.getByLabel('Threat type').selectOption('phishing');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForLoadState();
  const caseLink = page.locator('#queue a', { hasText: /^Case \d+$/ }).first();
  const caseId = (await caseLink.innerText()).replace('Case ', '');
  await caseLink.click();
  await page.waitForLoadState();
  check((await text(page, 'h1')) === `Case ${caseId}`, 'the case page opens');

  // 3. The case page: the reporter's hostile text is shown as text, both names with their
  // registry state.
  check(
    (await page.locator('pre.text', { hasText: hostile }).count()) === 1,
    'the description is shown as text, not run',
  );
  const names = await text(page, '#names-title + table');
  check(names.includes(`${held}\tregistered`), `${held} is registered: ${names}`);
  check(names.includes(`${blocked}\tnot registered`), `${blocked} is not registered: ${names}`);
  const evidenceRow = await text(page, '#evidence + table');
  check(
    evidenceRow.includes('phishing-mail.txt') && evidenceRow.includes(evidenceSha),
    `the case lists the reporter's evidence with its SHA-256: ${evidenceRow}`,
  );
  await screenshot(page, 'case-new');

  // 4. Acknowledge.
  await page.getByRole('button', { name: 'Acknowledge' }).click();
  await page.waitForLoadState();
  check((await text(page, '#case-state')) === 'acknowledged', 'the case is acknowledged');
  check((await bodyText(page)).includes('The case is acknowledged'), 'the page says so');
  await screenshot(page, 'case-acknowledged');

  // 5. Assess: without a rationale the form comes back with the error at the field and the
  // input kept; then with it.
  await page.getByLabel('Priority', { exact: true }).selectOption('high');
  await page.getByLabel('Responsible party').selectOption('registrar');
  await page.getByLabel('Course of action (the reporters read this)').fill(course);
  await page.getByRole('button', { name: 'Record the assessment' }).click();
  await page.waitForLoadState();
  check(
    (await text(page, '#priority_rationale-error')) === 'must not be empty',
    'the missing rationale is named next to its field',
  );
  check(
    (await page.getByLabel('Course of action (the reporters read this)').inputValue()) === course,
    'the course of action typed is kept',
  );
  check(
    (await page.locator('#priority_rationale').getAttribute('aria-invalid')) === 'true',
    'the field is marked invalid',
  );
  await screenshot(page, 'assess-refused');
  await page.getByLabel('Why this priority').fill('A live bank phishing kit harvesting credentials.');
  await page.getByRole('button', { name: 'Record the assessment' }).click();
  await page.waitForLoadState();
  check((await text(page, '#case-state')) === 'assessed', 'the case is assessed');
  check((await text(page, '#case-priority')).startsWith('high'), 'the priority is high');
  await screenshot(page, 'case-assessed');

  // 6. Hold one name: first the preview of what it would do and the approvals it needs, then
  // Decide. The same form sent a second time does not act twice.
  await page.getByLabel('Action', { exact: true }).selectOption('hold');
  await page.getByLabel(held, { exact: true }).check();
  await page.getByLabel('Why', { exact: true }).fill('phishing kit on the name');
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.waitForLoadState();
  const preview = await text(page, '#preview');
  check(preview.includes('1 names: 1 would change'), `the preview counts the name: ${preview}`);
  check(
    new RegExp(`${held}\twould change\tstatuses added: serverHold`).test(preview),
    `the preview shows the status the hold adds: ${preview}`,
  );
  check(preview.includes('None beyond yours.'), `a hold needs no other approval: ${preview}`);
  check(!(await bodyText(page)).includes('Action 1: hold'), 'the preview decided nothing');
  await screenshot(page, 'hold-preview');
  const holdForm = {};
  for (const input of await page.locator('#preview form input[type=hidden]').all()) {
    holdForm[await input.getAttribute('name')] = await input.getAttribute('value');
  }
  check(holdForm.kind === 'hold' && holdForm.names === held, 'Decide sends the previewed fields');
  await page.getByRole('button', { name: 'Decide' }).click();
  await page.waitForLoadState();
  check((await bodyText(page)).includes('The action is decided'), 'the hold is decided');
  const again = await page.request.post(`${base}/desk/cases/${caseId}/actions`, { form: holdForm });
  check(
    (await again.text()).includes('That form was already sent; it was not acted on twice.'),
    'a second submit of the same form is recognised',
  );
  let body = await until(page, 'the hold applies', (b) => /Action \d+: hold — applied/.test(b));
  check((body.match(/Action \d+: hold/g) || []).length === 1, 'there is exactly one hold');
  body = await until(page, 'the hold shows in DNS', (b) => b.includes('visible in DNS after'));
  await screenshot(page, 'hold-applied');

  // 7. Block the other name until a date.
  await page.getByLabel('Action', { exact: true }).selectOption('block');
  await page.getByLabel(blocked, { exact: true }).check();
  await page.getByLabel('Why', { exact: true }).fill('look-alike of the phishing name');
  await page.getByLabel('Block until (block)').fill('2027-06-30');
  await page.getByRole('button', { name: 'Preview' }).click();
  await page.waitForLoadState();
  check(
    (await text(page, '#preview')).includes('blocked until 2027-06-30 00:00 UTC'),
    'the preview shows the block and its end',
  );
  await page.getByRole('button', { name: 'Decide' }).click();
  await page.waitForLoadState();
  body = await until(page, 'the block applies', (b) => /Action \d+: block — applied/.test(b));
  const namesNow = await text(page, '#names-title + table');
  check(
    new RegExp(`${held}\tregistered;[^\n]*serverHold`).test(namesNow),
    `${held} is held: ${namesNow}`,
  );
  check(
    namesNow.includes(`${blocked}\tblocked until 2027-06-30 00:00 UTC`),
    `${blocked} is blocked: ${namesNow}`,
  );
  check(body.includes('Undo action'), 'applied actions offer undo');
  await screenshot(page, 'block-applied');

  // 8. DNS: the held name has left the zone (checked by the Rust side's query).
  const dns = await askDns(held);
  check(dns === 'gone', `the held name is gone from DNS, the server says ${dns}`);

  // 9. The domain page: statuses, registrar, the history with who asked and why.
  await page.locator('#names-title + table').getByRole('link', { name: held }).click();
  await page.waitForLoadState();
  const domain = await bodyText(page);
  check(domain.includes('serverHold'), `the domain page shows serverHold: ${domain}`);
  check(/hold \(applied\)/.test(domain), `the history lists the hold: ${domain}`);
  check(domain.includes('phishing kit on the name'), 'the history says why');
  await screenshot(page, 'domain');

  // 10. Undo the hold from the case page: the name is back in DNS exactly as it was.
  await page.goBack();
  await page.waitForLoadState();
  const holdAction = (body.match(/Action (\d+): hold/) || [])[1];
  await page.getByLabel(`Why undo action ${holdAction}`).fill('the site was cleaned');
  await page.getByRole('button', { name: `Undo action ${holdAction}` }).click();
  await page.waitForLoadState();
  body = await until(page, 'the undo finishes', (b) => /Action \d+: hold — undone/.test(b));
  check(body.includes('1 restored'), `the undo restored the name: ${body}`);
  const back = await askDns(held);
  check(back === 'present', `the undone name is delegated again, the server says ${back}`);
  await screenshot(page, 'hold-undone');
  await signOut(page);

  // 11. The reporter signs in again and reads the assessment.
  await signIn(page, 'reporter@demo.example');
  await page.getByRole('link', { name: 'My reports', exact: true }).click();
  await page.waitForLoadState();
  const portal = await bodyText(page);
  check(portal.includes(`Report ${reportId}: phishing`), 'the report is listed');
  check(portal.includes('action decided'), `the report's case has an action decided: ${portal}`);
  check(portal.includes('Our assessment'), `the assessment is among the answers: ${portal}`);
  check(portal.includes(course), 'the assessment says what the desk will do');
  check(portal.includes('priority high'), 'the assessment gives the priority');
  await screenshot(page, 'reporter-assessment');

  await signOut(page);
}

const secret = 'informant Sam Roe of CERT-X';

async function reviewStep(page, id, step, fields = {}) {
  await page.goto(`${base}/waivers/${id}`);
  await page.getByLabel('Step', { exact: true }).selectOption(step);
  for (const [label, value] of Object.entries(fields)) {
    const field = page.getByLabel(label, { exact: true });
    if ((await field.evaluate((element) => element.tagName)) === 'SELECT') {
      await field.selectOption(value);
    } else {
      await field.fill(value);
    }
  }
  await page.getByRole('button', { name: 'Record the step' }).click();
  await page.waitForLoadState();
  const body = await bodyText(page);
  check(body.includes('Done: the review step is recorded.'), `${step} recorded: ${body}`);
  return body;
}

async function waiverStory(page) {
  // 12. The registry files a waiver request; the form says what is missing until it is complete.
  await signIn(page, 'registry@demo.example');
  await page.getByRole('link', { name: 'Waivers', exact: true }).click();
  await page.getByRole('link', { name: 'Start a new request' }).click();
  await page.getByLabel('Incident type').selectOption('malicious_dns_activity');
  await page.getByLabel('Affected TLDs (one per line)').fill('demo');
  await page.getByRole('button', { name: 'Save the draft' }).click();
  await page.waitForLoadState();
  let body = await bodyText(page);
  check(body.includes('Missing:'), `the draft says what is missing: ${body}`);
  await screenshot(page, 'waiver-draft');
  await page.getByLabel('Description').fill('A DGA registers command-and-control names in .demo');
  await page.getByLabel('Number of names').fill('400');
  await page.getByLabel('Was action already taken?').selectOption('no');
  await page.getByLabel('Response planned or taken').fill('Register the names to our own registrar');
  await page.getByLabel('Urgency').selectOption('high');
  await page.getByLabel('Expedited answer needed?').selectOption('no');
  await page.getByLabel('Provisions to be waived (one per line)').fill('Specification 6');
  await page.getByLabel('Period from (date or time, UTC)').fill('2026-12-01');
  await page.getByLabel('until', { exact: true }).fill('2027-06-01');
  await page.getByLabel('Contacts (one per line: Name <address>)').fill('Desk <abuse@registry.demo.example>');
  await page.getByRole('button', { name: 'Save and submit' }).click();
  await page.waitForLoadState();
  const id = (page.url().match(/\/waivers\/(\d+)$/) || [])[1];
  check(id, `submitted, the request's page: ${page.url()}`);
  body = await bodyText(page);
  check(body.includes('submitted'), `the request is submitted: ${body}`);
  await screenshot(page, 'waiver-submitted');
  await signOut(page);

  // 13. The reviewer names the reviewer, confirms the incident and asks for information.
  await signIn(page, 'reviewer@demo.example');
  await page.getByRole('link', { name: 'Waiver reviews' }).click();
  body = await bodyText(page);
  check(body.includes('confirm'), `the queue shows the confirm clock: ${body}`);
  await screenshot(page, 'reviewer-queue');
  await reviewStep(page, id, 'assign_reviewer', { 'Reviewer (name the reviewer)': 'Jane Reviewer' });
  await reviewStep(page, id, 'confirm_incident');
  await reviewStep(page, id, 'ask_information', {
    'Message: the question, the answer, or a note': 'Since when does the DGA run?',
  });
  await signOut(page);

  // 14. The registry answers in the same thread.
  await signIn(page, 'registry@demo.example');
  body = await reviewStep(page, id, 'answer_information', {
    'Message: the question, the answer, or a note': 'Since 28 November',
  });
  check(body.includes('Since when does the DGA run?'), 'the question is in the thread');
  await signOut(page);

  // 15. The reviewer discusses and issues a waiver.
  await signIn(page, 'reviewer@demo.example');
  await reviewStep(page, id, 'discuss');
  const terms = JSON.stringify({
    tlds: ['demo'], provisions: ['Specification 6'], actions: ['create'],
    coverage: { names: ['dga-e2e.demo'] },
    valid: { start: '2026-01-01T00:00:00Z', end: '2030-01-01T00:00:00Z' }, conditions: [],
  });
  body = await reviewStep(page, id, 'decide', {
    Answer: 'new_waiver',
    'Waiver terms as JSON (new or updated waiver): tlds, provisions, actions, coverage, valid, conditions': terms,
  });
  check(body.includes('Waivers issued'), `the waiver is issued: ${body}`);
  await screenshot(page, 'waiver-issued');

  // 16. The after-action report: the reviewer writes it, marks a passage confidential and
  // approves; the registry approves; the published page never shows the passage.
  await page.getByRole('link', { name: 'The after-action report' }).click();
  await page.getByLabel('Section: timeline').fill(`28 Nov: the DGA was seen by ${secret}. 1 Dec: the waiver was issued.`);
  await page.getByRole('button', { name: 'Save timeline' }).click();
  await page.waitForLoadState();
  await page.getByLabel('Passage to mark confidential (its exact text)').fill(secret);
  await page.getByLabel('Why it is confidential').fill('the source asked not to be named');
  await page.getByRole('button', { name: 'Mark confidential' }).click();
  await page.waitForLoadState();
  body = await bodyText(page);
  const preview = body.slice(body.indexOf('Preview of the published text'));
  check(preview.includes('[redacted]') && !preview.includes(secret), `the preview is redacted: ${preview}`);
  await page.getByRole('button', { name: /^Approve the text/ }).click();
  await page.waitForLoadState();
  await screenshot(page, 'report-editor');
  await signOut(page);
  await signIn(page, 'registry@demo.example');
  await page.goto(`${base}/waivers/${id}/report`);
  await page.getByRole('button', { name: /^Approve the text/ }).click();
  await page.waitForLoadState();
  body = await bodyText(page);
  check(body.includes('Approved by: reviewer and requester'), `both approved: ${body}`);
  await page.getByRole('link', { name: 'published' }).click();
  await page.waitForLoadState();
  const html = await page.content();
  body = await bodyText(page);
  check(body.includes('the waiver was issued') && body.includes('[redacted]'), `published: ${body}`);
  check(!html.includes('Sam Roe') && !html.includes('CERT-X'), 'the redacted phrase is nowhere in the published page');
  await screenshot(page, 'report-published');
  await page.goto(`${base}/`);
  await signOut(page);
}

/// The desk's statistics: the story's one phishing report and its hold and block are counted,
/// each chart with a table of the same numbers beside it, the CSV carries the same filters, and
/// the yearly SRW tables count the request answered above.
async function statisticsStory(page) {
  // 17. Staff open Statistics from the navigation.
  await signIn(page, 'registry@demo.example');
  await page.getByRole('link', { name: 'Statistics', exact: true }).click();
  await page.waitForLoadState();
  check((await text(page, 'h1')) === 'Statistics', 'the statistics page opens');
  const phishing = page.locator('#reports-by-threat-chart g.bar[data-label="phishing"]');
  check((await phishing.count()) === 1, 'the threat chart has a phishing bar');
  check((await phishing.getAttribute('data-value')) === '1', 'one phishing report, the story\'s');
  const title = await page.locator('#reports-by-threat-chart > title').textContent();
  check(title.includes('phishing 1'), `the chart names its bars for screen readers: ${title}`);
  const actions = await text(page, '#actions-by-kind table');
  check(/hold(\t\d+)*\t1$/m.test(actions), `one hold in the actions table: ${actions}`);
  check(/block(\t\d+)*\t1$/m.test(actions), `one block in the actions table: ${actions}`);
  const acknowledged = await text(page, '#time-to-acknowledge table');
  check(/\t1\t/.test(acknowledged), `one acknowledgment timed: ${acknowledged}`);
  const srw = await text(page, '#srw-figures');
  check(srw.includes('Total number of requests received'), `the yearly SRW tables: ${srw}`);
  await screenshot(page, 'statistics');

  // 18. The filters work without JavaScript; a bad date is named at its field, input kept.
  await page.getByLabel('Group by').selectOption('week');
  await page.getByLabel('TLD', { exact: true }).selectOption('demo');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForLoadState();
  check(page.url().includes('period=week') && page.url().includes('tld=demo'), `filtered: ${page.url()}`);
  check((await text(page, '#stats-scope')).includes('.demo'), 'the figures are for .demo');
  const csv = await page.locator('#stats-csv').getAttribute('href');
  check(csv.includes('period=week') && csv.includes('tld=demo'), `the CSV link keeps the filters: ${csv}`);
  const download = await page.request.get(`${base}${csv}`);
  const lines = (await download.text()).split('\r\n');
  check(lines[0] === 'period,tld,measure,key,value', `the CSV header: ${lines[0]}`);
  check(lines.some((line) => /^\d{4}-W\d{2},demo,reports_by_threat_type,phishing,1$/.test(line)), `the CSV counts the report: ${lines.join('\n')}`);
  await page.goto(`${base}/statistics?from=2026-02-30&period=month`);
  const error = await text(page, '#s-from-error');
  check(error.includes('2026-02-30'), `the bad date is named at its field: ${error}`);
  await screenshot(page, 'statistics-bad-date');
  await signOut(page);
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
