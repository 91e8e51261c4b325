// End-to-end browser tests for the kiosk and counter UIs.
//
// Usage (from kiosk-ui/):  STATION_BIN=/tmp/station node e2e/run.mjs
//
// Starts `$STATION_BIN run --demo` on a free port with a temporary data dir, drives the
// system Chromium through playwright-core, checks accessibility with axe-core, saves
// screenshots to e2e/artifacts/, and prints "N passed, M failed" as its last line.

import { spawn } from 'node:child_process'
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import AxeBuilder from '@axe-core/playwright'

const here = path.dirname(fileURLToPath(import.meta.url))
const artifacts = path.join(here, 'artifacts')
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const PASSWORD = 'station-demo'
const HEADED = process.env.E2E_HEADED === '1'

// ---------------------------------------------------------------- helpers

function log(...a) {
  console.log(...a)
}

function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`)
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms))
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** GB 11643-1999 check character for the first 17 digits. */
function checkDigit(first17) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * w[i]
  return '10X98765432'[sum % 11]
}

/** A fresh, valid 18-digit resident ID number (random birth date and sequence). */
function freshIdNumber() {
  const y = 1950 + Math.floor(Math.random() * 50)
  const m = 1 + Math.floor(Math.random() * 12)
  const d = 1 + Math.floor(Math.random() * 28)
  const seq = String(Math.floor(Math.random() * 1000)).padStart(3, '0')
  const first17 = `110101${y}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}${seq}`
  return first17 + checkDigit(first17)
}

/** Returns a 4-character suffix that differs from the given one in every position. */
function wrongLast4(last4) {
  return [...last4].map((c) => (c === '1' ? '2' : '1')).join('')
}

// ---------------------------------------------------------------- station

let station = null
let baseURL = ''
let dataDir = ''

async function startStation() {
  const bin = process.env.STATION_BIN?.includes('/') ? path.resolve(process.env.STATION_BIN) : process.env.STATION_BIN
  if (!bin) throw new Error('STATION_BIN is not set (path to a station binary built with -tags ui)')
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'station-e2e-'))
  const port = await freePort()
  baseURL = `http://127.0.0.1:${port}`
  const out = createWriteStream(path.join(artifacts, 'station.log'))
  station = spawn(bin, ['run', '--demo', '--data', dataDir, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  station.stdout.pipe(out)
  station.stderr.pipe(out)
  let exited = null
  station.on('exit', (code, sig) => {
    exited = { code, sig }
  })
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (exited) throw new Error(`station exited early (code ${exited.code}, signal ${exited.sig}); see e2e/artifacts/station.log`)
    try {
      const r = await fetch(`${baseURL}/readyz`)
      if (r.status === 200) return
    } catch {
      // not listening yet
    }
    await sleep(200)
  }
  throw new Error('station did not become ready (GET /readyz != 200) within 30 s')
}

async function stopStation() {
  if (station && station.exitCode === null && station.signalCode === null) {
    const done = new Promise((r) => station.once('exit', r))
    station.kill('SIGTERM')
    const t = setTimeout(() => station.kill('SIGKILL'), 5000)
    await done
    clearTimeout(t)
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
}

async function api(method, p, body, token) {
  const headers = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (token) headers.Authorization = `Bearer ${token}`
  const r = await fetch(baseURL + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await r.text()
  let data = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = text
  }
  if (!r.ok) throw new Error(`${method} ${p} → ${r.status} ${text}`)
  return data
}

// ---------------------------------------------------------------- test runner

const results = []
const cspViolations = []
let browser = null

async function test(name, fn) {
  const started = Date.now()
  try {
    await fn()
    results.push({ name, ok: true })
    log(`ok   ${name} (${Date.now() - started} ms)`)
  } catch (e) {
    results.push({ name, ok: false, error: e })
    log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`)
  }
}

async function newPage(viewport) {
  // The browser runs in New York time on purpose: the UIs must show China time whatever the machine's zone.
  const ctx = await browser.newContext({ viewport, baseURL, locale: 'zh-CN', timezoneId: 'America/New_York' })
  const page = await ctx.newPage()
  page.setDefaultTimeout(10_000)
  page.on('pageerror', (err) => log(`  [page error] ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return
    const text = msg.text()
    if (text.includes('Content Security Policy')) cspViolations.push(`${page.url()}: ${text.slice(0, 160)}`)
    else log(`  [console] ${text}`)
  })
  return page
}

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage })
}

const axeFindings = []

async function axeCheck(page, name) {
  await page.waitForTimeout(300) // let transitions settle
  const res = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze()
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
  for (const v of res.violations) {
    axeFindings.push(`${name}: [${v.impact}] ${v.id} — ${v.help} (${v.nodes.length} nodes)`)
  }
  if (bad.length) {
    const detail = bad
      .map((v) => `  [${v.impact}] ${v.id}: ${v.help}\n${v.nodes.slice(0, 5).map((n) => `      ${n.target.join(' ')} — ${n.failureSummary?.split('\n').join(' ')}`).join('\n')}`)
      .join('\n')
    throw new Error(`axe found ${bad.length} serious/critical violation(s) on ${name}:\n${detail}`)
  }
}

async function login(page, username) {
  await page.goto('/counter/login')
  await page.getByTestId('login-username').fill(username)
  await page.getByTestId('login-password').fill(PASSWORD)
  await page.getByTestId('login-submit').click()
  await page.waitForURL(/\/counter\/work/)
  await page.getByTestId('user-name').waitFor()
}

async function expectText(locator, expected, what) {
  await locator.waitFor()
  const deadline = Date.now() + 10_000
  let got = ''
  while (Date.now() < deadline) {
    got = ((await locator.textContent()) ?? '').trim()
    if (expected instanceof RegExp ? expected.test(got) : got.includes(expected)) return got
    await sleep(100)
  }
  throw new Error(`${what}: expected ${expected}, got "${got}"`)
}

// ---------------------------------------------------------------- scenarios

const shared = { idNumber: '', number: '', appId: '', matter: null }
const desktop = { width: 1366, height: 900 }
const portrait = { width: 1080, height: 1920 }

async function scenarioIntakeAndReview() {
  // Discover a commitment matter through the API.
  const all = (await api('GET', '/api/v1/catalog/matters')).items ?? []
  assert(all.length >= 40, `demo catalog has ≥ 40 matters (got ${all.length})`)
  const matter = all.find((m) => m.kind === 'commitment' && (m.materials ?? []).length > 0) ?? all.find((m) => m.kind === 'commitment')
  assert(matter, 'a commitment matter exists')
  shared.matter = matter
  shared.idNumber = freshIdNumber()

  const page = await newPage(desktop)
  await login(page, 'counter1')
  await expectText(page.getByTestId('user-role'), '窗口人员', 'role label')
  await page.getByTestId('stat-open').waitFor()

  await page.getByTestId('nav-intake').click()
  await page.getByTestId('intake-matter-search').fill(matter.code)
  await page.locator(`[data-testid="intake-matter"][data-code="${matter.code}"]`).click()

  // A wrong check digit is rejected client-side with a Chinese message.
  const wrong = shared.idNumber.slice(0, 17) + (shared.idNumber[17] === '0' ? '1' : '0')
  await page.getByTestId('intake-id-number').fill(wrong)
  await page.getByTestId('intake-name').focus()
  await expectText(page.getByTestId('intake-id-error'), '校验位', 'check digit error')
  await shot(page, 'counter-intake-id-error')

  await page.getByTestId('intake-id-number').fill(shared.idNumber)
  await page.getByTestId('intake-name').fill('测试居民')
  await page.getByTestId('intake-phone').fill('13800138000')
  await page.getByTestId('intake-next-2').click()
  const boxes = page.locator('[data-testid="intake-material"] input[type="checkbox"]')
  const n = await boxes.count()
  for (let i = 0; i < n; i++) await boxes.nth(i).check()
  await page.getByTestId('intake-next-3').click()
  const summary = await page.getByTestId('intake-summary').textContent()
  assert(!summary.includes(shared.idNumber), 'confirm step masks the ID number')
  await shot(page, 'counter-intake-confirm')
  await page.getByTestId('intake-submit').click()
  shared.number = await expectText(page.getByTestId('intake-number'), /\S+/, 'created application number')
  log(`  created ${shared.number} for ${matter.code} ${matter.name}`)
  await shot(page, 'counter-intake-done')

  await page.getByTestId('intake-open').click()
  await expectText(page.getByTestId('detail-number'), shared.number, 'detail number')
  await expectText(page.getByTestId('detail-status'), '已受理', 'status after intake')
  shared.appId = page.url().split('/').pop()
  // Times are shown in China Standard Time (UTC+8) even though this browser runs in New York time.
  const shownAt = (await page.getByTestId('detail-received-at').textContent()).trim()
  const cst = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
  assert(shownAt.startsWith(cst), `received time is shown in China time (got "${shownAt}", China date ${cst})`)
  assert(shared.number.includes(cst.replaceAll('-', '')), `application number carries the China date ${cst} (got ${shared.number})`)
  const shownId = await page.getByTestId('detail-applicant-id').textContent()
  assert(!shownId.includes(shared.idNumber), 'detail masks the ID number')

  await page.getByTestId('logout').click()
  await page.waitForURL(/\/counter\/login/)

  // Reviewer takes it from 待初审 through to 已办结.
  await login(page, 'review1')
  await page.getByTestId('tab-review').click()
  await page.getByTestId('worklist-search').fill(shared.number)
  await page.getByTestId('worklist-search').press('Enter')
  const row = page.locator(`[data-testid="worklist-row"][data-number="${shared.number}"]`)
  await row.waitFor()
  const applicantCell = (await row.getByTestId('worklist-applicant').textContent()).trim()
  assert(applicantCell.startsWith('测') && !applicantCell.includes('测试居民'), `work list masks the applicant name (got "${applicantCell}")`)
  await shot(page, 'counter-worklist-review')
  await row.click()
  await expectText(page.getByTestId('detail-number'), shared.number, 'detail number (reviewer)')
  const steps = [
    ['pre_review', '已初审'],
    ['forward', '已转办'],
    ['approve', '已批准'],
    ['complete', '已办结'],
  ]
  for (const [action, label] of steps) {
    await page.getByTestId(`action-${action}`).click()
    await expectText(page.getByTestId('detail-status'), label, `status after ${action}`)
  }
  const entries = await page.getByTestId('timeline-entry').count()
  assert(entries >= 4, `timeline has ≥ 4 entries (got ${entries})`)
  await shot(page, 'counter-detail-completed')
  await page.context().close()
}

async function scenarioKioskGuideAndProgress() {
  // Pick a seeded matter that its pinyin initials find, with materials to show.
  const all = (await api('GET', '/api/v1/catalog/matters')).items ?? []
  let pick = null
  // Prefer short initials (like dbsq) — the way residents type them.
  const candidates = all.filter((x) => x.pinyin && (x.materials ?? []).length > 0).sort((x, y) => x.pinyin.length - y.pinyin.length)
  for (const m of candidates) {
    const found = (await api('GET', `/api/v1/catalog/matters?q=${encodeURIComponent(m.pinyin)}`)).items ?? []
    if (found.some((f) => f.code === m.code)) {
      pick = m
      break
    }
  }
  assert(pick, 'some matter is found by its pinyin initials')
  log(`  searching "${pick.pinyin}" for ${pick.code} ${pick.name}`)

  const page = await newPage(portrait)
  await page.goto('/kiosk')
  await page.getByTestId('tile-guide').click()
  await page.getByTestId('guide-cat').first().waitFor()
  await page.getByTestId('guide-search').fill(pick.pinyin)
  const item = page.locator(`[data-testid="guide-matter"][data-code="${pick.code}"]`)
  await item.waitFor()
  await shot(page, 'kiosk-guide-search', false)
  await item.click()
  await expectText(page.getByTestId('matter-name'), pick.name, 'matter name')
  const mats = await page.getByTestId('matter-material').count()
  assert(mats === pick.materials.length, `materials shown (${mats}) = API (${pick.materials.length})`)
  const matText = await page.getByTestId('matter-materials').textContent()
  assert(matText.includes(pick.materials[0].name), 'first material listed')
  const tl = await page.getByTestId('matter-time-limit').textContent()
  if (pick.kind === 'immediate') assert(tl.includes('当场办结'), 'immediate matter shows 当场办结')
  await shot(page, 'kiosk-matter-detail')

  assert(shared.number, 'scenario (a) created an application')
  const last4 = shared.idNumber.slice(-4)
  await page.getByTestId('kiosk-home').click()
  await page.getByTestId('tile-progress').click()
  await page.getByTestId('progress-number').fill(shared.number)
  await page.getByTestId('progress-last4').fill(last4)
  await page.getByTestId('progress-submit').click()
  await expectText(page.getByTestId('progress-status'), '已办结', 'kiosk progress status')
  await expectText(page.getByTestId('progress-result-number'), shared.number, 'kiosk progress number')
  const body = await page.locator('body').textContent()
  assert(!body.includes(shared.idNumber), 'kiosk never shows the full ID number')
  await shot(page, 'kiosk-progress-result')

  await page.getByTestId('progress-again').click()
  await page.getByTestId('progress-number').fill(shared.number)
  await page.getByTestId('progress-last4').fill(wrongLast4(last4))
  await page.getByTestId('progress-submit').click()
  await expectText(page.getByTestId('progress-error'), '未找到办件，请核对办件编号和证件号码后四位', 'not-found message')
  await shot(page, 'kiosk-progress-not-found')
  await page.context().close()
}

async function scenarioKioskIdle() {
  const page = await newPage({ width: 1920, height: 1080 })
  await page.goto('/kiosk?idle=3')
  await page.getByTestId('kiosk-elder').click()
  assert((await page.getByTestId('kiosk-elder').getAttribute('aria-pressed')) === 'true', 'elder mode on')
  const root = page.getByTestId('kiosk-root')
  assert(/\belder\b/.test((await root.getAttribute('class')) ?? ''), 'elder class applied')
  await page.getByTestId('tile-progress').click()
  await page.getByTestId('progress-number').fill('SQ20990101-0001')
  // The on-screen keypad types into the focused field.
  await page.getByTestId('progress-last4').click()
  for (const k of ['1', '2', '3', '4', '5']) await page.getByTestId(`key-${k}`).click()
  assert((await page.getByTestId('progress-last4').inputValue()) === '1234', 'keypad fills the last 4 (max 4)')
  await shot(page, 'kiosk-idle-before')
  // Activity keeps the session alive: type again after 2 s and check we are still there after 4 s.
  await page.waitForTimeout(2000)
  await page.getByTestId('progress-last4').press('End')
  await page.waitForTimeout(2000)
  assert(page.url().endsWith('/kiosk/progress'), 'activity resets the idle timer')
  // Now stay idle.
  await page.waitForURL((u) => u.pathname === '/kiosk', { timeout: 6000 })
  await page.getByTestId('tile-guide').waitFor()
  assert(!/\belder\b/.test((await root.getAttribute('class')) ?? ''), 'elder mode cleared by idle wipe')
  await shot(page, 'kiosk-idle-after')
  await page.getByTestId('tile-progress').click()
  assert((await page.getByTestId('progress-number').inputValue()) === '', 'typed number wiped')
  assert((await page.getByTestId('progress-last4').inputValue()) === '', 'typed last 4 wiped')
  await page.context().close()
}

const fullIdRe = /\d{17}[\dXx]/

async function scenarioKioskCard() {
  const cards = (await api('GET', '/api/v1/demo/cards')).items ?? []
  assert(cards.length > 0, 'demo cards listed')
  const card = cards[0]
  const page = await newPage(portrait)
  await page.goto('/kiosk')
  await expectText(page.getByTestId('kiosk-unverified'), '未放置身份证', 'unverified notice')
  assert((await page.getByTestId('tile-mine').count()) === 0, 'no 我的办件 tile without a card')
  await page.getByTestId('sim-toggle').waitFor()
  await page.waitForTimeout(300) // let the event stream connect
  await api('POST', '/api/v1/demo/idreader/place', { index: 0 })
  const t0 = Date.now()
  await page.getByTestId('kiosk-session').waitFor({ timeout: 3000 })
  log(`  card placed → name on the kiosk screen: ${Date.now() - t0} ms (benchmark figure, not asserted)`)
  await expectText(page.getByTestId('kiosk-session-name'), card.name, 'banner name')
  const shownId = await expectText(page.getByTestId('kiosk-session-id'), /\*/, 'banner masked id')
  assert(shownId === card.id_number, `banner shows the masked number (${shownId})`)
  assert((await page.getByTestId('kiosk-unverified').count()) === 0, 'unverified notice hidden with a card')
  await shot(page, 'kiosk-card-session', false)
  await page.getByTestId('tile-mine').click()
  await page.getByTestId('mine-item').first().waitFor()
  const n = await page.getByTestId('mine-item').count()
  assert(n >= 1, `我的办件 lists ≥ 1 application (got ${n})`)
  const body = (await page.locator('body').textContent()) ?? ''
  assert(!fullIdRe.test(body), 'no full 18-digit ID number in the page')
  await shot(page, 'kiosk-my-applications')
  await test('axe: kiosk card session (我的办件)', () => axeCheck(page, 'kiosk my applications'))
  // Remove the card through the simulator panel.
  await page.getByTestId('sim-toggle').click()
  await shot(page, 'kiosk-simulator-panel', false)
  await page.getByTestId('sim-remove').click()
  await page.getByTestId('kiosk-session').waitFor({ state: 'detached', timeout: 3000 })
  await page.waitForURL((u) => u.pathname === '/kiosk', { timeout: 3000 })
  await page.getByTestId('kiosk-unverified').waitFor()
  assert((await page.getByTestId('tile-mine').count()) === 0, '我的办件 tile gone after removal')
  await shot(page, 'kiosk-card-removed', false)
  await page.context().close()
}

async function scenarioCounterScan() {
  const m = shared.matter
  assert(m && (m.materials ?? []).length > 0, 'scenario (a) picked a matter with materials')
  // counter1 takes a fresh application through the API (no materials provided yet).
  const sess = await api('POST', '/api/v1/sessions', { username: 'counter1', password: PASSWORD })
  const created = await api(
    'POST',
    '/api/v1/applications',
    {
      matter_code: m.code,
      applicant: { id_type: 'resident', id_number: freshIdNumber(), name: '扫描测试', phone: '13700137000' },
      materials: m.materials.map((x) => ({ code: x.code, provided: false })),
      note: '',
    },
    sess.token,
  )
  const mat = m.materials[0]
  const page = await newPage(desktop)
  await login(page, 'counter1')
  await page.goto(`/counter/applications/${created.id}`)
  await expectText(page.getByTestId('detail-number'), created.number, 'detail number')
  const row = page.locator(`[data-testid="detail-material"][data-code="${mat.code}"]`)
  assert((await row.getByTestId('material-provided').getAttribute('data-provided')) === 'false', 'material not provided yet')
  await row.getByTestId('scan-open').click()
  const panel = page.getByTestId('scan-panel')
  await panel.waitFor()
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid="scan-preview"]')
    return img && img.naturalWidth > 0
  }, null, { timeout: 15_000 })
  await panel.getByTestId('scan-capture').click()
  await page.getByTestId('scan-page').first().waitFor({ timeout: 30_000 })
  await api('POST', '/api/v1/demo/camera/next-page', {})
  await page.waitForTimeout(500)
  await panel.getByTestId('scan-capture').click()
  await page.getByTestId('scan-page').nth(1).waitFor({ timeout: 30_000 })
  const before = await page.getByTestId('scan-page').evaluateAll((els) => els.map((e) => e.getAttribute('data-sha')))
  assert(before.length === 2 && before[0] !== before[1], `two different pages captured (${before.join(', ')})`)
  // Thumbnails load from the same origin.
  await page.waitForFunction(
    () => [...document.querySelectorAll('[data-testid="scan-thumb"]')].every((i) => i.complete && i.naturalWidth > 0),
    null,
    { timeout: 15_000 },
  )
  // Reorder with the keyboard: focus page 2's move-left button and press Enter.
  await page.locator('[data-testid="scan-move-left"][data-index="1"]').focus()
  await page.keyboard.press('Enter')
  const after = await page.getByTestId('scan-page').evaluateAll((els) => els.map((e) => e.getAttribute('data-sha')))
  assert(after[0] === before[1] && after[1] === before[0], 'pages reordered')
  await shot(page, 'counter-scan-panel')
  await test('axe: counter scan panel', () => axeCheck(page, 'counter scan panel'))
  await panel.getByTestId('scan-attach').click()
  await page.getByTestId('scan-panel').waitFor({ state: 'detached', timeout: 30_000 })
  assert((await page.getByTestId('scan-preview').count()) === 0, 'preview removed with the panel')
  await expectText(page.getByTestId('scan-ok'), mat.name, 'attach confirmation')
  assert((await row.getByTestId('material-provided').getAttribute('data-provided')) === 'true', 'material shows provided')
  const href = await row.getByTestId('material-pdf').getAttribute('href')
  assert(href && href.startsWith('/api/v1/blobs/'), `PDF link (${href})`)
  assert((await row.getByTestId('material-pdf').getAttribute('target')) === '_blank', 'PDF opens in a new tab')
  const res = await page.request.get(href)
  assert(res.status() === 200, `PDF GET → ${res.status()}`)
  const ct = res.headers()['content-type'] ?? ''
  assert(ct.startsWith('application/pdf'), `PDF content type (${ct})`)
  const body = await res.body()
  assert(body.subarray(0, 5).toString() === '%PDF-', 'PDF body starts with %PDF-')
  await shot(page, 'counter-scan-attached')
  await page.context().close()
}

async function scenarioKioskCardIdle() {
  const page = await newPage(portrait)
  await page.goto('/kiosk?idle=3')
  await page.getByTestId('kiosk-unverified').waitFor()
  await page.waitForTimeout(300) // let the event stream connect
  await api('POST', '/api/v1/demo/idreader/place', { index: 0 })
  try {
    await page.getByTestId('kiosk-session').waitFor({ timeout: 3000 })
    await page.getByTestId('tile-mine').click()
    await page.waitForURL((u) => u.pathname === '/kiosk/mine')
    await shot(page, 'kiosk-card-idle-before', false)
    // No activity: the idle timeout wipes the session although the card stays on the reader.
    await page.getByTestId('kiosk-session').waitFor({ state: 'detached', timeout: 8000 })
    await page.waitForURL((u) => u.pathname === '/kiosk', { timeout: 3000 })
    await page.getByTestId('tile-guide').waitFor()
    const still = await api('GET', '/api/v1/kiosk/card')
    assert(still && still.card, 'card is still on the reader')
    await page.waitForTimeout(1000)
    assert((await page.getByTestId('kiosk-session').count()) === 0, 'banner stays gone')
    assert((await page.getByTestId('tile-mine').count()) === 0, '我的办件 tile gone after the idle wipe')
    await shot(page, 'kiosk-card-idle-after', false)
  } finally {
    await api('POST', '/api/v1/demo/idreader/remove')
  }
  await page.context().close()
}

async function scenarioSetup() {
  const page = await newPage(desktop)
  await page.goto('/setup')
  await page.getByTestId('setup-username').fill('tech')
  await page.getByTestId('setup-password').fill(PASSWORD)
  await page.getByTestId('setup-login-submit').click()
  await expectText(page.getByTestId('setup-user'), /\S/, 'technician signed in')
  await page.getByTestId('setup-device').nth(3).waitFor()
  const n = await page.getByTestId('setup-device').count()
  assert(n === 4, `4 devices listed (got ${n})`)
  const states = await page.getByTestId('setup-device-state').allTextContents()
  assert(states.every((t) => /[\u4e00-\u9fff]/.test(t)), `state labels are Chinese (${states.join(', ')})`)
  await page.getByTestId('setup-ticket-test').click()
  const ok = await expectText(page.getByTestId('setup-ticket-msg'), /\S/, 'ticket test message')
  assert((await page.getByTestId('setup-ticket-msg').getAttribute('data-ok')) === 'true', `ticket test succeeded ("${ok}")`)
  await page.getByTestId('setup-ticket-png').waitFor()
  await page.getByTestId('setup-camera-still').click()
  await page.getByTestId('setup-camera-img').waitFor()
  // The A4 test page goes to the simulated IPP printer and counts only when the job completes.
  await page.getByTestId('setup-page-test').click()
  const pageOK = await expectText(page.getByTestId('setup-page-msg'), /\S/, 'test page message')
  assert((await page.getByTestId('setup-page-msg').getAttribute('data-ok')) === 'true', `test page printed ("${pageOK}")`)
  await api('POST', '/api/v1/demo/document-printer/paper', { loaded: false })
  try {
    await page.getByTestId('setup-page-test').click()
    await expectText(page.getByTestId('setup-page-msg'), '缺纸', 'A4 paper-out message')
  } finally {
    await api('POST', '/api/v1/demo/document-printer/paper', { loaded: true })
  }
  await shot(page, 'setup-ticket-ok')
  await test('axe: setup page', () => axeCheck(page, 'setup page'))
  // Empty the ticket printer through the demo API: the next print fails with the paper-out message.
  await api('POST', '/api/v1/demo/ticket-printer/paper', { loaded: false })
  try {
    await page.getByTestId('setup-ticket-test').click()
    await expectText(page.getByTestId('setup-ticket-msg'), '缺纸', 'paper-out message')
    assert((await page.getByTestId('setup-ticket-msg').getAttribute('data-ok')) === 'false', 'paper-out shown as an error')
    // The live status stream marks the printer as out of paper.
    await expectText(page.locator('[data-testid="setup-device"][data-kind="ticket_printer"] [data-testid="setup-device-state"]'), '缺纸', 'live paper_out state')
    await shot(page, 'setup-ticket-paper-out')
  } finally {
    await api('POST', '/api/v1/demo/ticket-printer/paper', { loaded: true })
  }
  await page.context().close()
}

async function scenarioCounterReadCard() {
  const cards = (await api('GET', '/api/v1/demo/cards')).items ?? []
  const card = cards[1] ?? cards[0]
  const m = shared.matter
  assert(m, 'scenario (a) picked a matter')
  const page = await newPage(desktop)
  await login(page, 'counter1')
  await page.goto('/counter/intake')
  await page.getByTestId('intake-matter-search').fill(m.code)
  await page.locator(`[data-testid="intake-matter"][data-code="${m.code}"]`).click()
  await api('POST', '/api/v1/demo/idreader/remove')
  await page.getByTestId('intake-read-card').click()
  const err = await expectText(page.getByTestId('intake-read-error'), /[\u4e00-\u9fff]/, 'no-card error')
  log(`  no card: ${err}`)
  await shot(page, 'counter-read-card-none')
  await api('POST', '/api/v1/demo/idreader/place', { index: card.index })
  try {
    await page.waitForTimeout(500)
    await page.getByTestId('intake-read-card').click()
    await page.getByTestId('intake-read-ok').waitFor()
    const name = await page.getByTestId('intake-name').inputValue()
    assert(name === card.name, `name filled from the card (got "${name}", want "${card.name}")`)
    const id = await page.getByTestId('intake-id-number').inputValue()
    assert(fullIdRe.test(id), `full ID number filled for staff (got "${id}")`)
    assert(id.slice(-4) === card.id_number.slice(-4), 'ID number matches the card')
    assert((await page.getByTestId('intake-id-type').inputValue()) === 'resident', 'id type filled')
    await shot(page, 'counter-read-card-filled')
    await test('axe: counter intake applicant step (card read)', () => axeCheck(page, 'counter intake applicant step'))
  } finally {
    await api('POST', '/api/v1/demo/idreader/remove')
  }
  await page.context().close()
}

async function scenarioAxe() {
  const kiosk = await newPage(portrait)
  await test('axe: kiosk home', async () => {
    await kiosk.goto('/kiosk')
    await kiosk.getByTestId('tile-guide').waitFor()
    await shot(kiosk, 'kiosk-home')
    await axeCheck(kiosk, 'kiosk home')
  })
  await test('axe: kiosk guide detail', async () => {
    const all = (await api('GET', '/api/v1/catalog/matters')).items ?? []
    const m = all.find((x) => (x.materials ?? []).length > 0) ?? all[0]
    await kiosk.goto(`/kiosk/guide/${encodeURIComponent(m.code)}`)
    await kiosk.getByTestId('matter-name').waitFor()
    await axeCheck(kiosk, 'kiosk guide detail')
  })
  await test('axe: kiosk progress result', async () => {
    assert(shared.number, 'scenario (a) created an application')
    await kiosk.goto('/kiosk/progress')
    await kiosk.getByTestId('progress-number').fill(shared.number)
    await kiosk.getByTestId('progress-last4').fill(shared.idNumber.slice(-4))
    await kiosk.getByTestId('progress-submit').click()
    await kiosk.getByTestId('progress-status').waitFor()
    await axeCheck(kiosk, 'kiosk progress result')
  })
  await test('axe: kiosk elder mode guide list', async () => {
    await kiosk.goto('/kiosk/guide')
    await kiosk.getByTestId('kiosk-elder').click()
    await kiosk.getByTestId('guide-matter').first().waitFor()
    await shot(kiosk, 'kiosk-guide-elder', false)
    await axeCheck(kiosk, 'kiosk guide list (elder mode)')
  })
  await kiosk.context().close()

  const counter = await newPage(desktop)
  await test('axe: counter login', async () => {
    await counter.goto('/counter/login')
    await counter.getByTestId('login-username').waitFor()
    await shot(counter, 'counter-login')
    await axeCheck(counter, 'counter login')
  })
  await test('axe: counter work list', async () => {
    await login(counter, 'review1')
    await counter.getByTestId('tab-all').click()
    await counter.getByTestId('worklist-row').first().waitFor()
    await shot(counter, 'counter-worklist-all')
    await axeCheck(counter, 'counter work list')
  })
  await test('axe: counter application detail', async () => {
    assert(shared.appId, 'scenario (a) created an application')
    await counter.goto(`/counter/applications/${shared.appId}`)
    await counter.getByTestId('detail-status').waitFor()
    await axeCheck(counter, 'counter application detail')
  })
  await test('axe: counter intake wizard', async () => {
    await counter.goto('/counter/intake')
    await counter.getByTestId('intake-matter').first().waitFor()
    await axeCheck(counter, 'counter intake wizard')
  })
  await counter.context().close()
}

async function scenarioMisc() {
  await test('counter: 401 returns to login; setup asks for a sign-in', async () => {
    const page = await newPage(desktop)
    await page.goto('/counter/work')
    await page.waitForURL(/\/counter\/login/)
    await page.goto('/setup')
    await page.getByTestId('setup-login').waitFor()
    await page.context().close()
  })
  await test('counter: wrong password shows the API message', async () => {
    const page = await newPage(desktop)
    await page.goto('/counter/login')
    await page.getByTestId('login-username').fill('admin')
    await page.getByTestId('login-password').fill('not-the-password')
    await page.getByTestId('login-submit').click()
    const msg = await expectText(page.getByTestId('login-error'), /\S/, 'login error')
    assert(/[\u4e00-\u9fff]/.test(msg), `login error is Chinese ("${msg}")`)
    await page.context().close()
  })
  await test('counter: return asks for a reason', async () => {
    // counter1 takes a second application and returns it with a reason.
    const page = await newPage(desktop)
    await login(page, 'counter1')
    const m = shared.matter
    assert(m, 'scenario (a) picked a matter')
    await page.goto('/counter/intake')
    await page.getByTestId('intake-matter-search').fill(m.code)
    await page.locator(`[data-testid="intake-matter"][data-code="${m.code}"]`).click()
    await page.getByTestId('intake-id-number').fill(freshIdNumber())
    await page.getByTestId('intake-name').fill('测试二')
    await page.getByTestId('intake-phone').fill('13900139000')
    await page.getByTestId('intake-next-2').click()
    await page.getByTestId('intake-next-3').click()
    await page.getByTestId('intake-submit').click()
    await page.getByTestId('intake-open').click()
    await expectText(page.getByTestId('detail-status'), '已受理', 'status')
    await page.getByTestId('action-return').click()
    await page.getByTestId('reason-dialog').waitFor()
    await page.getByTestId('reason-confirm').click()
    await expectText(page.getByTestId('reason-error'), '请填写原因', 'reason required')
    await page.getByTestId('reason-input').fill('缺少户口簿原件')
    await shot(page, 'counter-reason-dialog')
    await page.getByTestId('reason-confirm').click()
    await expectText(page.getByTestId('detail-status'), '待补正', 'status after return')
    const tl = await page.getByTestId('detail-timeline').textContent()
    assert(tl.includes('缺少户口簿原件'), 'reason shown in the timeline')
    await page.context().close()
  })
}

// ---------------------------------------------------------------- main

async function main() {
  mkdirSync(artifacts, { recursive: true })
  let fatal = null
  try {
    await startStation()
    log(`station ready at ${baseURL}`)
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: !HEADED,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    await test('a. counter intake (counter1) and review to 已办结 (review1)', scenarioIntakeAndReview)
    await test('b. kiosk guide by pinyin initials and progress lookup', scenarioKioskGuideAndProgress)
    await test('c. kiosk idle timeout wipes input and returns home', scenarioKioskIdle)
    await test('d. kiosk ID card session: banner, 我的办件, removal wipes', scenarioKioskCard)
    await test('e. setup: technician sees 4 devices, test ticket, paper out', scenarioSetup)
    await test('f. counter: read the ID card in the intake wizard', scenarioCounterReadCard)
    await test('g. counter: scan two pages, reorder, attach as a PDF', scenarioCounterScan)
    await test('h. kiosk: idle timeout wipes a card session while the card stays on the reader', scenarioKioskCardIdle)
    await scenarioAxe()
    await scenarioMisc()
    await test('no Content-Security-Policy violations in the browser', async () => {
      assert(cspViolations.length === 0, `CSP violations:\n  ${[...new Set(cspViolations)].slice(0, 10).join('\n  ')}`)
    })
  } catch (e) {
    fatal = e
    log(`FATAL ${e && e.stack ? e.stack : e}`)
  } finally {
    if (browser) await browser.close().catch(() => {})
    await stopStation().catch((e) => log(`stopping station: ${e}`))
  }
  if (axeFindings.length) {
    log('axe findings (all impacts):')
    for (const f of axeFindings) log(`  ${f}`)
  }
  const passed = results.filter((r) => r.ok).length
  const failed = results.length - passed + (fatal ? 1 : 0)
  log(`${passed} passed, ${failed} failed`)
  process.exitCode = failed ? 1 : 0
}

await main()
