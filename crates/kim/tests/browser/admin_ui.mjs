// Walks through the Clientmodul's administration web UI in headless Chromium, as a
// practice would: the reservation of an address at the provider's portal, card choice,
// registration (with a weak password, a taken address, a wrong initial password and an
// expired registration link first, then through the portal mail's link), login,
// out-of-office, consent to large messages, password change, moving the address to another
// Telematik-ID, certificate download and import, deregistration and its revocation.
//
// Usage: node admin_ui.mjs <UI URL> <sandbox.json> <screenshot dir>
// Exit code 0 only if every step and check passed.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';

const [base, infoPath, shotDir] = process.argv.slice(2);
if (!base || !infoPath || !shotDir) {
  console.error('usage: node admin_ui.mjs <UI URL> <sandbox.json> <screenshot dir>');
  process.exit(2);
}
const info = JSON.parse(fs.readFileSync(infoPath, 'utf8'));
const contract = info.fachdienst.contract_reference_id;
const iniPassword = info.fachdienst.contract_initial_password;
const hbaTid = info.hba.telematik_id;
const practiceA = info.mailboxes[0];
const newAddress = 'dr.alice.schmidt@test.kim.telematik';
const expiredAddress = 'dr.alice.alt@test.kim.telematik';
const stateDir = path.dirname(infoPath);
const portalMails = path.join(stateDir, 'fachdienst', 'portal-mails');
const fachdienstDb = path.join(stateDir, 'fachdienst', 'data', 'fachdienst.sqlite');
const password1 = 'Praxis-Start-2026';
const password2 = 'Neues-Kennwort-77';

fs.mkdirSync(shotDir, { recursive: true });
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kim-admin-ui-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.KIM_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  acceptDownloads: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(60000);
let step = 0;

async function shot(name) {
  step += 1;
  const file = path.join(shotDir, `${String(step).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

/// The German error of `field` is shown beside it and associated with the input.
async function expectFieldError(field, text) {
  const input = page.locator(`#feld-${field}`);
  const described = (await input.getAttribute('aria-describedby')) ?? '';
  assert.ok(described.split(' ').includes(`feld-${field}-fehler`),
    `${field}: aria-describedby "${described}" names the error`);
  assert.equal(await input.getAttribute('aria-invalid'), 'true', `${field}: aria-invalid`);
  const message = await page.locator(`#feld-${field}-fehler`).innerText();
  assert.ok(message.includes(text), `${field}: "${message}" contains "${text}"`);
  // The error element sits in the same field block as the input.
  const sameBlock = await page.locator(`.feld:has(#feld-${field}) #feld-${field}-fehler`).count();
  assert.equal(sameBlock, 1, `${field}: the error is beside the field`);
}

async function notice(text) {
  const n = await page.getByRole('status').innerText();
  assert.ok(n.includes(text), `notice "${n}" contains "${text}"`);
}

async function chooseCard(tid) {
  await page.getByRole('radio', { name: new RegExp(`Telematik-ID ${tid.replace(/\./g, '\\.')}`) }).check();
}

async function endSession() {
  await page.getByRole('button', { name: 'Sitzung beenden' }).click();
  await page.waitForURL(`${base}`);
}

/// The bodies (base64, UTF-8) of the portal's mail files not in `before`.
function newMailBodies(before) {
  const names = fs.existsSync(portalMails) ? fs.readdirSync(portalMails) : [];
  return names.filter((n) => !before.has(n)).map((n) => {
    const raw = fs.readFileSync(path.join(portalMails, n), 'latin1');
    const split = raw.indexOf('\r\n\r\n');
    assert.ok(split > 0, `${n}: header and body`);
    return Buffer.from(raw.slice(split + 4).replace(/\s+/g, ''), 'base64').toString('utf8');
  });
}

/// Reserves `address` at the provider's registration portal as a practice does and returns
/// the registration link from the mail it sends.
async function reserveAtPortal(address) {
  const [local, domain] = address.split('@');
  const before = new Set(fs.existsSync(portalMails) ? fs.readdirSync(portalMails) : []);
  await page.goto(info.portal_url);
  await page.getByRole('link', { name: 'KIM-Adresse registrieren' }).click();
  await page.getByLabel('Ihre E-Mail-Adresse').fill('praxis.schmidt@example.org');
  await page.getByLabel('Contract ID').fill(contract);
  await page.getByRole('button', { name: 'Weiter' }).click();
  await page.getByLabel('KIM-Adresse (Teil vor dem @)').fill(local);
  await page.getByLabel('Maildomäne').selectOption(domain);
  await page.getByRole('button', { name: 'Registrierung abschließen' }).click();
  await page.waitForLoadState();
  let link;
  for (let i = 0; i < 50 && !link; i += 1) {
    for (const body of newMailBodies(before)) {
      const m = body.match(/https?:\/\/\S+\/registrieren\?\S+/);
      if (m) link = m[0];
    }
    if (!link) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(link, `the portal sent a registration link for ${address}`);
  assert.ok(link.startsWith(`${base}registrieren?`), `link ${link} leads to this UI`);
  assert.ok(link.includes(`address=${encodeURIComponent(address)}`), link);
  return link;
}

// 0. The practice reserves two addresses at the provider's portal; the second reservation
//    runs out (its expiry moved into the past in the Fachdienst's database, as 96 hours
//    later).
const link = await reserveAtPortal(newAddress);
await shot('portal-reserviert');
const expiredLink = await reserveAtPortal(expiredAddress);
const moved = execFileSync('python3', ['-c', `
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
n = db.execute("UPDATE reservations SET expires = ? WHERE address = ?",
               (int(time.time()) - 60, sys.argv[2])).rowcount
db.commit()
print(n)
`, fachdienstDb, expiredAddress]).toString().trim();
assert.equal(moved, '1', 'the reservation of the second address is in the database');

// 1. The UI's registration form without a session: card choice first, then the form,
//    pre-filled from the query.
await page.goto(`${base}registrieren?vertrag=${encodeURIComponent(contract)}&adresse=${encodeURIComponent(newAddress)}`);
assert.equal(await page.locator('h1').innerText(), 'Karte wählen');
assert.equal(await page.locator('html').getAttribute('lang'), 'de');
await shot('kartenwahl');
await chooseCard(hbaTid);
await page.getByRole('button', { name: 'Mit dieser Karte anmelden' }).click();
await page.waitForURL(/\/registrieren/);
assert.equal(await page.locator('h1').innerText(), 'KIM-Adresse registrieren');
assert.equal(await page.getByLabel('Vertragsnummer (Referenz-ID)').inputValue(), contract);
assert.equal(await page.getByLabel('Gewünschte KIM-Adresse').inputValue(), newAddress);
await shot('registrierung-vorbelegt');

async function fillRegistration(address, ini, pw) {
  await page.getByLabel('Gewünschte KIM-Adresse').fill(address);
  await page.getByLabel('Initialpasswort').fill(ini);
  await page.getByLabel('Neues Passwort für das KIM-Konto').fill(pw);
  await page.getByLabel('Neues Passwort wiederholen').fill(pw);
  await page.getByRole('button', { name: 'KIM-Adresse registrieren' }).click();
  await page.waitForLoadState();
}

// 2. A weak password: the policy's message at the password field.
await fillRegistration(newAddress, iniPassword, 'schwach');
await expectFieldError('passwort', 'Passwortrichtlinie');
await shot('fehler-schwaches-passwort');

// 3. A taken address (practice A's): the Account Manager's 409 at the address field.
await fillRegistration(practiceA.address, iniPassword, password1);
await expectFieldError('adresse', 'bereits vergeben');
await shot('fehler-adresse-vergeben');

// 4. A wrong initial password: the 401 at the initial password field.
await fillRegistration(newAddress, 'Falsches-Initial-1', password1);
await expectFieldError('initialpasswort', 'Initialpasswort ist falsch');
await shot('fehler-initialpasswort');

// 5. An address against the rules, checked at the field before any request.
await fillRegistration('dr.müller@test.kim.telematik', iniPassword, password1);
assert.equal(await page.locator('#feld-adresse').getAttribute('aria-invalid'), 'true');
await shot('fehler-adressregeln');

// 6. The expired registration link: the German message at the address field.
async function registerThroughLink(url, address, pw) {
  await page.goto(url);
  await page.waitForURL(/\/registrieren/);
  assert.equal(await page.getByLabel('Vertragsnummer (Referenz-ID)').inputValue(), contract);
  assert.equal(await page.getByLabel('Gewünschte KIM-Adresse').inputValue(), address);
  assert.equal(await page.getByLabel('Initialpasswort').count(), 0, 'the link replaces the initial password');
  await page.getByLabel('Neues Passwort für das KIM-Konto').fill(pw);
  await page.getByLabel('Neues Passwort wiederholen').fill(pw);
  await page.getByRole('button', { name: 'KIM-Adresse registrieren' }).click();
  await page.waitForLoadState();
}
await registerThroughLink(expiredLink, expiredAddress, password1);
await expectFieldError('adresse', 'Registrierungslink ist abgelaufen');
assert.equal(await page.getByText('ist über den Registrierungslink Ihres KIM-Anbieters reserviert').count(), 0,
  'no claim that the address is still reserved');
await shot('fehler-link-abgelaufen');

// 7. The registration through the portal mail's link.
await registerThroughLink(link, newAddress, password1);
await page.waitForURL(/\/konto$/);
await notice('ist registriert');
assert.equal(await page.locator('#status').innerText(), 'registriert');
await shot('konto-registriert');

// 8. Log in again with address and password.
await endSession();
await chooseCard(hbaTid);
await page.getByRole('button', { name: 'Mit dieser Karte anmelden' }).click();
await page.getByLabel('KIM-Adresse', { exact: true }).fill(newAddress);
await page.getByLabel('Passwort des KIM-Kontos').fill('Falsch-Passwort-1');
await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
await expectFieldError('passwort', 'Passwort ist falsch');
await shot('fehler-anmeldung');
await page.getByLabel('Passwort des KIM-Kontos').fill(password1);
await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
await page.waitForURL(/\/konto$/);
await notice('Angemeldet am KIM-Konto');

// 9. Out-of-office.
await page.getByLabel('Abwesenheitsnotiz einschalten').check();
await page.getByLabel(/^Beginn/).fill('2026-12-23T08:00');
await page.getByLabel(/^Ende/).fill('2026-12-22T08:00');
await page.getByLabel('Text der Abwesenheitsnotiz').fill('Die Praxis ist bis 2. Januar geschlossen. Vertretung: Dr. Weber.');
await page.getByRole('button', { name: 'Abwesenheitsnotiz speichern' }).click();
await expectFieldError('ende', 'vor dem Beginn');
await page.getByLabel(/^Ende/).fill('2027-01-02T18:00');
await page.getByRole('button', { name: 'Abwesenheitsnotiz speichern' }).click();
await page.waitForURL(/\/konto$/);
await notice('Abwesenheitsnotiz ist eingeschaltet');
assert.equal(await page.locator('#abwesenheit-status').innerText(), 'Die Abwesenheitsnotiz ist eingeschaltet.');
assert.equal(await page.getByLabel(/^Beginn/).inputValue(), '2026-12-23T08:00');
assert.ok((await page.getByLabel('Text der Abwesenheitsnotiz').inputValue()).includes('Vertretung'));
await shot('abwesenheit');

// 10. Consent to large messages (A_23505): the risk notice describes the checkbox.
const consent = page.getByLabel(/Nachrichten über 15 MiB empfängt/);
assert.ok(((await consent.getAttribute('aria-describedby')) ?? '').includes('hinweis-gross'));
assert.ok((await page.locator('#hinweis-gross').innerText()).includes('Speicherplatz'));
await consent.check();
await page.getByRole('button', { name: 'Einstellung speichern' }).click();
await page.waitForURL(/\/konto$/);
await notice('Einwilligung gespeichert');
assert.equal(await page.locator('#kim-version').innerText(), '1.5+');
await shot('einwilligung');

// 11. Password change: a weak one at the field, then a good one.
await page.getByLabel('Neues Passwort', { exact: true }).fill('kurz');
await page.getByLabel('Neues Passwort wiederholen').fill('kurz');
await page.getByRole('button', { name: 'Passwort ändern' }).click();
await expectFieldError('neues_passwort', 'Passwortrichtlinie');
await page.getByLabel('Neues Passwort', { exact: true }).fill(password2);
await page.getByLabel('Neues Passwort wiederholen').fill(password2);
await page.getByRole('button', { name: 'Passwort ändern' }).click();
await page.waitForURL(/\/konto$/);
await notice('Passwort ist geändert');
await shot('passwort-geaendert');
// The new password works, the old one no longer.
await endSession();
await chooseCard(hbaTid);
await page.getByRole('button', { name: 'Mit dieser Karte anmelden' }).click();
await page.getByLabel('KIM-Adresse', { exact: true }).fill(newAddress);
await page.getByLabel('Passwort des KIM-Kontos').fill(password1);
await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
await expectFieldError('passwort', 'Passwort ist falsch');
await page.getByLabel('Passwort des KIM-Kontos').fill(password2);
await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
await page.waitForURL(/\/konto$/);

// 12. Move the address from the HBA to practice A's SMC-B.
await page.getByRole('button', { name: 'Umzug beginnen' }).click();
await page.waitForURL(/\/konto\/telematik-id$/);
assert.equal(await page.getByRole('radio', { name: new RegExp(hbaTid.replace(/\./g, '\\.')) }).count(), 0,
  'the old card is not offered');
await shot('neue-karte');
await chooseCard(practiceA.card.telematik_id);
await page.getByRole('button', { name: 'KIM-Adresse auf diese Karte übertragen' }).click();
await page.waitForURL(/\/konto$/);
await notice(`Telematik-ID ${practiceA.card.telematik_id}`);
assert.ok((await page.locator('header').innerText()).includes(practiceA.card.telematik_id));
await shot('telematik-id-geaendert');

// 13. The Clientmodul certificate: download and import.
await page.getByLabel('Name des Clientmoduls im Zertifikat').fill('Praxis-PC-1');
await page.getByLabel('Passwort für die PKCS#12-Datei').fill('Zertifikat-2026');
await page.getByRole('button', { name: 'Zertifikat anfordern' }).click();
await page.waitForURL(/\/konto$/);
await notice('Zertifikat ist ausgestellt');
const [download] = await Promise.all([
  page.waitForEvent('download'),
  page.locator('#zertifikat-bereit a').click(),
]);
const p12Path = path.join(shotDir, 'clientmodul.p12');
await download.saveAs(p12Path);
const p12 = fs.readFileSync(p12Path);
assert.ok(p12.length > 500, `PKCS#12 of ${p12.length} bytes`);
assert.equal(p12[0], 0x30, 'PKCS#12 is DER (SEQUENCE)');
await page.getByRole('button', { name: 'In den Schlüsselspeicher des Clientmoduls importieren' }).click();
await page.waitForURL(/\/konto$/);
await notice('Schlüsselspeicher des Clientmoduls');
await shot('zertifikat');

// 14. Deregistration: confirmation required, then the 30-day window; then revocation.
await page.getByRole('button', { name: 'KIM-Adresse abmelden' }).click();
await expectFieldError('bestaetigung', 'bestätigen');
await page.getByLabel('Ich möchte diese KIM-Adresse abmelden.').check();
await page.getByRole('button', { name: 'KIM-Adresse abmelden' }).click();
await page.waitForURL(/\/konto$/);
await notice('innerhalb von 30 Tagen widerrufen');
assert.match(await page.locator('#status').innerText(), /^abgemeldet – wird am \d\d\.\d\d\.\d{4} endgültig gelöscht$/);
await shot('abgemeldet');
await page.getByRole('button', { name: 'Abmeldung widerrufen' }).click();
await page.waitForURL(/\/konto$/);
await notice('Abmeldung ist widerrufen');
assert.equal(await page.locator('#status').innerText(), 'registriert');
await shot('widerrufen');

// 15. A form without the session's CSRF token is refused.
const forged = await page.request.post(`${base}konto/deregistrieren`, {
  form: { bestaetigung: 'ja', csrf: 'falsch' },
});
assert.equal(forged.status(), 403);

await context.close();
fs.rmSync(profile, { recursive: true, force: true });
console.log(`admin UI walk passed (${step} screenshots in ${shotDir})`);
