// End-to-end browser tests for the kiosk and counter UIs.
//
// Usage (from kiosk-ui/):  STATION_BIN=/tmp/station node e2e/run.mjs
//
// Starts `$STATION_BIN run --demo` on a free port with a temporary data dir, drives the
// system Chromium through playwright-core, checks accessibility with axe-core, saves
// screenshots to e2e/artifacts/, and prints "N passed, M failed" as its last line.

import { spawn, spawnSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import AxeBuilder from '@axe-core/playwright'
import { pinyin } from 'pinyin-pro'

const here = path.dirname(fileURLToPath(import.meta.url))
const artifacts = path.join(here, 'artifacts')
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const PASSWORD = 'station-demo'
const HEADED = process.env.E2E_HEADED === '1'
// E2E_ONLY=regex runs only the tests whose names match (scenarios that depend on an earlier one need it matched too).
const ONLY = process.env.E2E_ONLY ? new RegExp(process.env.E2E_ONLY) : null

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
let hubURL = '' // the demo's department console (in-process hub)
let dataDir = ''

async function startStation() {
  const bin = process.env.STATION_BIN?.includes('/') ? path.resolve(process.env.STATION_BIN) : process.env.STATION_BIN
  if (!bin) throw new Error('STATION_BIN is not set (path to a station binary built with -tags ui)')
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'station-e2e-'))
  const port = await freePort()
  baseURL = `http://127.0.0.1:${port}`
  const hubPort = await freePort()
  hubURL = `http://127.0.0.1:${hubPort}`
  const out = createWriteStream(path.join(artifacts, 'station.log'))
  station = spawn(bin, ['run', '--demo', '--data', dataDir, '--listen', `127.0.0.1:${port}`, '--hub-console', `127.0.0.1:${hubPort}`], {
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
  if (ONLY && !ONLY.test(name)) return
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

// Every screenshot of a Chinese screen is also checked for labels mixing the two languages.
const mixedFindings = []

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage })
  if ((await page.evaluate(() => document.documentElement.lang)) === 'en') return
  for (const m of await mixedLabels(page)) mixedFindings.push(`${name}: ${m}`)
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

/**
 * Labels on the page that mix Chinese and English. A label is a visible element's own text (its
 * direct text nodes) with its aria-label, title and placeholder; it mixes when it holds Han characters
 * and a run of two or more Latin words. Taken out first, as not a second language: codes and numbers
 * (MZ-001, SQ20261124-0003, ZM20261207-0001, A4, 115200, masked numbers like 1101**********0018),
 * figures with units (18 KiB, 58 mm),
 * paths and addresses (/dev/ttyUSB0, data/sim-idreader, http://…, ipp://…, host:port). A single Latin
 * word beside Chinese is allowed: a technical name (PDF, SAM, IPP, JSONL, KiB, a pinyin example such as
 * dbsq). No brand names are needed: device models and drivers' English terms (e.g. "SAM on …") are only
 * in the setup page's 详细信息, as labels of their own without Chinese. The demo simulator panel (a
 * developer tool, bottom left on the kiosk) is skipped.
 */
async function mixedLabels(page) {
  return page.evaluate(() => {
    const out = []
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('[data-testid="sim"], script, style') || !el.checkVisibility?.()) continue
      let own = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join(' ')
      for (const a of ['aria-label', 'title', 'placeholder', 'alt']) own += ' ' + (el.getAttribute(a) ?? '')
      const label = own
        .replace(/[a-z][a-z+.-]*:\/\/\S+/gi, ' ') // URLs
        .replace(/\d[\d.]*\s*(?:[KMGT]i?B|B|mm|ms|s)\b/g, ' ') // figures with units (18 KiB, 58 mm)
        .replace(/\S*\/\S*/g, ' ') // paths
        .replace(/[A-Z]{1,4}\d[\w-]*|\d[\d*Xx:.-]*|[A-Za-z]*\*+[A-Za-z\d]*/g, ' ') // codes, numbers, masked
      if (/[\u4e00-\u9fff]/.test(label) && /[A-Za-z]{2,}[\s,.;:()&'’-]+[A-Za-z]{2,}/.test(label)) out.push(own.trim().replace(/\s+/g, ' ').slice(0, 100))
    }
    return out
  })
}

/** Fails when a visible label on the page mixes Chinese and English (mixedLabels). */
async function assertNoMixed(page, where) {
  const bad = await mixedLabels(page)
  assert(bad.length === 0, `${where}: labels mixing Chinese and English: ${JSON.stringify(bad)}`)
}

// ---------------------------------------------------------------- scenarios

const shared = { idNumber: '', number: '', appId: '', matter: null }
const desktop = { width: 1366, height: 900 }
const portrait = { width: 1080, height: 1920 }

/** The China date n days from now, YYYY-MM-DD. */
function chinaDate(n) {
  return new Date(Date.now() + 8 * 3600_000 + n * 86400_000).toISOString().slice(0, 10)
}

async function scenarioIntakeDeferral() {
  const all = (await api('GET', '/api/v1/catalog/matters')).items ?? []
  const matter = all.find((m) => m.kind === 'commitment' && (m.materials ?? []).filter((x) => x.required).length >= 2)
  assert(matter, 'a commitment matter with two required materials')
  const required = matter.materials.filter((x) => x.required)
  const idNumber = freshIdNumber()
  const page = await newPage(desktop)
  try {
    await login(page, 'counter1')
    await page.getByTestId('nav-intake').click()
    await page.getByTestId('intake-matter-search').fill(matter.code)
    await page.locator(`[data-testid="intake-matter"][data-code="${matter.code}"]`).click()
    await page.getByTestId('intake-id-number').fill(idNumber)
    await page.getByTestId('intake-name').fill('容缺居民')
    await page.getByTestId('intake-phone').fill('13800138001')
    await page.getByTestId('intake-next-2').click()
    // Only the first required material is brought: without 容缺 the wizard refuses to go on.
    await page.locator(`[data-testid="intake-material"] input[data-code="${required[0].code}"]`).check()
    await page.getByTestId('intake-next-3').click()
    await expectText(page.getByTestId('intake-materials-error'), required[1].name, 'missing materials named')
    await expectText(page.getByTestId('intake-materials-error'), '容缺受理', 'points to 容缺受理')
    assert((await page.getByTestId('intake-summary').count()) === 0, 'no confirm step with materials missing')
    // 容缺受理: every missing item confirmed, a reason and a due date (5 working days by default).
    await page.getByTestId('intake-defer').check()
    const items = page.getByTestId('intake-defer-item')
    assert((await items.count()) === required.length - 1, `a checklist of the ${required.length - 1} missing items`)
    const due = await page.getByTestId('intake-defer-due').inputValue()
    assert(/^\d{4}-\d{2}-\d{2}$/.test(due) && due > chinaDate(0), `a default due date after today (${due})`)
    await page.getByTestId('intake-next-3').click()
    await expectText(page.getByTestId('intake-materials-error'), '请逐项确认', 'each item must be confirmed')
    for (let i = 0; i < (await items.count()); i++) await items.nth(i).locator('input').check()
    await page.getByTestId('intake-next-3').click()
    await expectText(page.getByTestId('intake-materials-error'), '原因', 'a reason is required')
    await page.getByTestId('intake-defer-reason').fill('户口簿在派出所补办中')
    await page.getByTestId('intake-defer-due').fill(chinaDate(0))
    await page.getByTestId('intake-next-3').click()
    await expectText(page.getByTestId('intake-materials-error'), '晚于今天', 'a due date after today')
    await page.getByTestId('intake-defer-due').fill(chinaDate(7))
    await shot(page, 'counter-intake-deferral')
    await test('axe: counter intake 容缺受理', () => axeCheck(page, 'counter intake deferral'))
    await page.getByTestId('intake-next-3').click()
    await expectText(page.getByTestId('intake-defer-summary'), chinaDate(7), 'confirm step shows the due date')
    await page.getByTestId('intake-submit').click()
    const number = await expectText(page.getByTestId('intake-number'), /\S+/, 'created application number')
    await page.getByTestId('intake-open').click()
    const box = page.getByTestId('detail-deferral')
    await expectText(box, '容缺受理', 'detail shows the 容缺')
    await expectText(page.getByTestId('detail-deferral-due'), chinaDate(7), 'detail shows the due date')
    await expectText(page.getByTestId('detail-deferral-reason'), '户口簿在派出所补办中', 'detail shows the reason')
    assert((await page.getByTestId('detail-deferral-item').count()) === required.length - 1, 'detail lists the missing items')
    assert((await box.getAttribute('data-overdue')) === 'false', 'not overdue yet')
    await shot(page, 'counter-detail-deferral')
    await test('axe: counter application detail with 容缺', () => axeCheck(page, 'counter application detail with deferral'))
    // The resident sees what to bring and by when in the kiosk's progress lookup.
    const kiosk = await newPage(portrait)
    try {
      await kiosk.goto('/kiosk/progress')
      await kiosk.getByTestId('progress-number').fill(number)
      await kiosk.getByTestId('progress-last4').fill(idNumber.slice(-4))
      await kiosk.getByTestId('progress-submit').click()
      await expectText(kiosk.getByTestId('kiosk-deferral-due'), chinaDate(7), 'kiosk shows the due date')
      await expectText(kiosk.getByTestId('kiosk-deferral'), required[1].name, 'kiosk names the material to bring')
      await shot(kiosk, 'kiosk-progress-deferral', false)
    } finally {
      await kiosk.context().close()
    }
  } finally {
    await page.context().close()
  }
}

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
  await assertNoMixed(page, 'kiosk guide list')
  await item.click()
  await expectText(page.getByTestId('matter-name'), pick.name, 'matter name')
  const mats = await page.getByTestId('matter-material').count()
  assert(mats === pick.materials.length, `materials shown (${mats}) = API (${pick.materials.length})`)
  const matText = await page.getByTestId('matter-materials').textContent()
  assert(matText.includes(pick.materials[0].name), 'first material listed')
  const tl = await page.getByTestId('matter-time-limit').textContent()
  if (pick.kind === 'immediate') assert(tl.includes('当场办结'), 'immediate matter shows 当场办结')
  await shot(page, 'kiosk-matter-detail')
  await assertNoMixed(page, 'kiosk matter guide')

  assert(shared.number, 'scenario (a) created an application')
  const last4 = shared.idNumber.slice(-4)
  await page.getByTestId('kiosk-home').click()
  await page.getByTestId('tile-progress').click()
  await page.getByTestId('progress-number').waitFor()
  await assertNoMixed(page, 'kiosk progress form')
  await page.getByTestId('progress-number').fill(shared.number)
  await page.getByTestId('progress-last4').fill(last4)
  await page.getByTestId('progress-submit').click()
  await expectText(page.getByTestId('progress-status'), '已办结', 'kiosk progress status')
  await expectText(page.getByTestId('progress-result-number'), shared.number, 'kiosk progress number')
  const body = await page.locator('body').textContent()
  assert(!body.includes(shared.idNumber), 'kiosk never shows the full ID number')
  await shot(page, 'kiosk-progress-result')
  await assertNoMixed(page, 'kiosk progress result')

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
  // The on-screen numeric pad types into the focused field.
  await page.getByTestId('progress-last4').click()
  for (const k of ['1', '2', '3', '4', '5']) await page.getByTestId(`kbd-key-${k}`).click()
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
  // The page notes when the banner appears (Playwright's waitFor polls with back-off, which would add up to 100 ms).
  await page.evaluate(() => {
    new MutationObserver((_, obs) => {
      if (document.querySelector('[data-testid="kiosk-session"]')) {
        window.__cardShownAt = Date.now()
        obs.disconnect()
      }
    }).observe(document.body, { childList: true, subtree: true })
  })
  const t0 = Date.now()
  await api('POST', '/api/v1/demo/idreader/place', { index: 0 })
  await page.getByTestId('kiosk-session').waitFor({ timeout: 3000 })
  const shownAt = await page.evaluate(() => window.__cardShownAt)
  log(`  card placed → name on the kiosk screen: ${shownAt - t0} ms (benchmark figure, not asserted)`)
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
  await assertNoMixed(page, 'kiosk 我的办件')
  await test('axe: kiosk card session (我的办件)', () => axeCheck(page, 'kiosk my applications'))
  // The counter takes an application for the card holder (reading the same demo reader) and returns it
  // for correction (补正) with a reason.
  const staff = await api('POST', '/api/v1/sessions', { username: 'counter1', password: PASSWORD })
  const read = await api('POST', '/api/v1/devices/idreader/read', {}, staff.token)
  const m = shared.matter
  assert(m && read.id_number, 'scenario (a) picked a matter; the counter read the card')
  const app = await api(
    'POST',
    '/api/v1/applications',
    {
      matter_code: m.code,
      applicant: { id_type: 'resident', id_number: read.id_number, name: read.name, phone: '13700137002' },
      materials: (m.materials ?? []).map((x) => ({ code: x.code, provided: true })),
      note: '',
    },
    staff.token,
  )
  const reason = '缺少户口簿原件，请于三个工作日内带原件到窗口补正'
  await api('POST', `/api/v1/applications/${app.id}/transitions`, { action: 'return', reason }, staff.token)
  const returned = app.number
  // Reloading 我的办件 with the card still on the reader stays there (the page waits for the card state).
  await page.reload()
  await page.getByTestId('mine-item').first().waitFor()
  await page.waitForTimeout(500)
  assert(new URL(page.url()).pathname === '/kiosk/mine', `reload keeps /kiosk/mine (at ${page.url()})`)
  // The returned one shows the counter's 补正 notice.
  const fix = page.locator(`[data-testid="mine-item"][data-number="${returned}"] [data-testid="mine-correction-reason"]`)
  await expectText(fix, reason, '补正 notice on 我的办件')
  await shot(page, 'kiosk-my-applications-correction')
  await assertNoMixed(page, 'kiosk 我的办件 with a 补正 notice')
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
      // Nothing is provided yet: 容缺受理 of every required material, to be scanned below.
      deferral: {
        materials: m.materials.filter((x) => x.required).map((x) => x.code),
        reason: '材料当场扫描补交',
        due_date: chinaDate(5),
      },
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
  // The device facts read as plain Chinese; the drivers' own terms are only behind 详细信息.
  const reader = page.locator('[data-testid="setup-device"][data-kind="idreader"]')
  // 读卡测试 opens the reader's port (no card: the station's no-card message), so it is connected.
  await page.getByTestId('setup-read-card').click()
  await expectText(page.getByTestId('setup-read-msg'), /[\u4e00-\u9fff]/, 'read test message in Chinese')
  const link = await expectText(reader.getByTestId('setup-device-link'), /^已连接（串口 \S+，\d+ 波特率）$/, 'ID reader link in Chinese')
  assert(!/baud|SAM on/.test(link), `no raw driver text in the link label ("${link}")`)
  await expectText(reader.getByTestId('setup-device-sam'), '安全模块（SAM）正常', 'SAM state in Chinese')
  const a4 = page.locator('[data-testid="setup-device"][data-kind="document_printer"]')
  const a4Reasons = await expectText(a4.getByTestId('setup-device-reasons'), '正常', 'A4 printer reason "none" as 正常')
  assert(!/none/.test(a4Reasons), `printer reasons in Chinese ("${a4Reasons}")`)
  const details = page.getByTestId('setup-device-details')
  assert(!(await details.first().getByText(/SAM on|baud/).first().isVisible().catch(() => false)), 'raw details folded away')
  await assertNoMixed(page, 'setup devices')
  await reader.getByTestId('setup-device-details').locator('summary').click()
  await expectText(reader.getByTestId('setup-device-details'), /baud/, 'raw details behind 详细信息')
  await assertNoMixed(page, 'setup devices with 详细信息 open')
  // The language setting: English labels, kept after a reload, and back to Chinese.
  await page.getByTestId('setup-lang').click()
  await expectText(page.locator('h1'), /^Device setup$/, 'setup title in English')
  await expectText(reader.getByTestId('setup-device-sam'), 'Security module (SAM) OK', 'SAM state in English')
  const enStates = await page.getByTestId('setup-device-state').allTextContents()
  assert(enStates.every((t) => !/[\u4e00-\u9fff]/.test(t)), `state labels in English (${enStates.join(', ')})`)
  await page.reload()
  await expectText(page.locator('h1'), /^Device setup$/, 'setup language kept after a reload')
  await page.getByTestId('setup-lang').click()
  await expectText(page.locator('h1'), /^设备设置$/, 'setup back to Chinese')
  await page.getByTestId('setup-device').nth(3).waitFor()
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
    await expectText(page.locator('[data-testid="setup-device"][data-kind="document_printer"] [data-testid="setup-device-reasons"]'), '缺纸', 'IPP media-empty as 缺纸')
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

// The setup page offers the station CA before sign-in (a counter terminal installs it before it trusts
// the station): the fingerprint shown is the CA's in the data directory, and the download is that CA.
async function scenarioSetupCA() {
  const page = await newPage(desktop)
  await page.goto('/setup')
  const want = new X509Certificate(readFileSync(path.join(dataDir, 'tls', 'ca.crt'))).fingerprint256
  await expectText(page.getByTestId('setup-tls-fingerprint'), want, 'CA fingerprint before sign-in')
  await page.getByTestId('setup-login').waitFor()
  const href = await page.getByTestId('setup-tls-download').getAttribute('href')
  const res = await page.request.get(href)
  assert(res.status() === 200, `ca.crt status ${res.status()}`)
  assert(res.headers()['content-type'] === 'application/x-x509-ca-cert', `ca.crt content type ${res.headers()['content-type']}`)
  const got = new X509Certificate(await res.body()).fingerprint256
  assert(got === want, `downloaded CA ${got}, the data directory's ${want}`)
  assert(/^https:\/\/127\.0\.0\.1:\d+\/counter$/.test(await page.getByTestId('setup-tls-counter-url').first().textContent()), 'the demo HTTPS address is on loopback')
  await shot(page, 'setup-tls')
  await axeCheck(page, 'setup page before sign-in')
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

// 取号: the kiosk's take-a-ticket screen. The station admin configures a line; the resident opens 取号 from
// the home page, touches the first line and reads the number and the people ahead; with the ticket printer's
// paper taken out (demo simulator) the slip fails and the screen says to note the number.
async function scenarioKioskQueue() {
  const admin = (await api('POST', '/api/v1/sessions', { username: 'admin', password: PASSWORD })).token
  await api('PUT', '/api/v1/queue/lines/A', { name: '综合业务', prefix: 'A', active: true }, admin)
  const page = await newPage(portrait)
  await page.goto('/kiosk')
  await page.getByTestId('tile-ticket').click()
  await page.waitForURL(/\/kiosk\/queue$/)
  const first = page.getByTestId('queue-line').first()
  await first.waitFor()
  assert((await first.textContent()).includes('综合业务'), 'the line is listed by name')
  await assertNoMixed(page, 'kiosk 取号 lines')
  await axeCheck(page, 'kiosk queue lines')
  await first.click()
  const number = (await page.getByTestId('queue-number').textContent()).trim()
  assert(/^[A-Z]\d{3}$/.test(number), `ticket number ${number} looks like A012`)
  await expectText(page.getByTestId('queue-ahead'), /前面还有 \d+ 人等候/, 'people ahead')
  await expectText(page.getByTestId('queue-printed'), '请取走取号单', 'slip printed')
  await shot(page, 'kiosk-queue-ticket')
  await assertNoMixed(page, 'kiosk 取号 result')
  await axeCheck(page, 'kiosk queue ticket')
  await page.getByTestId('queue-home').click()
  await page.getByTestId('tile-ticket').waitFor()

  // Out of paper: the ticket is still taken; the screen says so and shows the number to note.
  await api('POST', '/api/v1/demo/ticket-printer/paper', { loaded: false })
  try {
    await page.getByTestId('tile-ticket').click()
    await page.getByTestId('queue-line').first().click()
    const n2 = (await page.getByTestId('queue-number').textContent()).trim()
    assert(/^[A-Z]\d{3}$/.test(n2) && n2 !== number, `second ticket number ${n2} differs from ${number}`)
    await expectText(page.getByTestId('queue-print-error'), `请记下您的号码 ${n2}`, 'print error with the number')
    await shot(page, 'kiosk-queue-paper-out')
    await axeCheck(page, 'kiosk queue ticket, slip not printed')
  } finally {
    await api('POST', '/api/v1/demo/ticket-printer/paper', { loaded: true })
  }
  await page.close()

  // The number goes home by itself through the layout's idle timeout (here 4 s instead of 30 s).
  const idle = await newPage(portrait)
  await idle.goto('/kiosk/queue?idle=4')
  await idle.getByTestId('queue-line').first().click()
  await expectText(idle.getByTestId('queue-number'), /^[A-Z]\d{3}$/, 'third ticket number')
  await expectText(idle.getByTestId('queue-result').locator('.res-auto'), '无操作 4 秒后', 'auto-return seconds')
  await idle.waitForURL(/\/kiosk$/, { timeout: 10_000 })
  await idle.getByTestId('tile-ticket').waitFor()
  await idle.close()
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
  await test('axe: counter intake steps', async () => {
    await counter.goto('/counter/intake')
    await counter.getByTestId('intake-matter').first().waitFor()
    await axeCheck(counter, 'counter intake steps')
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
  await test('counter, setup and hub console log no console error before login', async () => {
    const page = await newPage(desktop)
    const errors = []
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(`${page.url()}: ${msg.text()}`)
    })
    await page.goto('/counter')
    await page.getByTestId('login-username').waitFor()
    await page.goto('/setup')
    await page.getByTestId('setup-login').waitFor()
    await page.goto(`${hubURL}/hub`)
    await page.getByTestId('hub-login-username').waitFor()
    await page.waitForTimeout(300)
    assert(errors.length === 0, `console errors before login:\n  ${errors.join('\n  ')}`)
    await page.context().close()
  })
  await test('counter: an immediate application says 即办 where a due date would be', async () => {
    const all = (await api('GET', '/api/v1/catalog/matters')).items ?? []
    const m = all.find((x) => x.kind === 'immediate')
    assert(m, 'the demo catalog has an immediate matter')
    const sess = await api('POST', '/api/v1/sessions', { username: 'counter1', password: PASSWORD })
    const created = await api(
      'POST',
      '/api/v1/applications',
      {
        matter_code: m.code,
        applicant: { id_type: 'resident', id_number: freshIdNumber(), name: '即办测试', phone: '13700137001' },
        materials: (m.materials ?? []).map((x) => ({ code: x.code, provided: true })),
        note: '',
      },
      sess.token,
    )
    const page = await newPage(desktop)
    await login(page, 'counter1')
    await page.goto(`/counter/applications/${created.id}`)
    await expectText(page.getByTestId('detail-due'), '即办', '承诺办结 of an immediate application')
    await page.context().close()
  })
  await test('language: Chinese by default, the English switch changes the kiosk home and the counter, no label mixes both', async () => {
    const mixed = mixedLabels
    const kiosk = await newPage(portrait)
    await kiosk.goto('/kiosk')
    await expectText(kiosk.getByTestId('tile-guide'), '办事指南', 'kiosk tile in Chinese')
    assert(!/[A-Za-z]{3,}/.test(await kiosk.getByTestId('tile-guide').textContent()), 'no English on a Chinese tile')
    let bad = await mixed(kiosk)
    assert(bad.length === 0, `kiosk home labels mixing Chinese and English: ${JSON.stringify(bad)}`)
    await kiosk.getByTestId('kiosk-lang').click()
    await expectText(kiosk.getByTestId('tile-guide'), 'Service guide', 'kiosk tile in English')
    assert(!/[\u4e00-\u9fff]/.test(await kiosk.getByTestId('tile-guide').textContent()), 'no Chinese on an English tile')
    bad = await mixed(kiosk)
    assert(bad.length === 0, `kiosk home (English) labels mixing: ${JSON.stringify(bad)}`)
    await shot(kiosk, 'kiosk-home-english', false)
    await kiosk.getByTestId('tile-guide').click()
    await expectText(kiosk.locator('h1'), /^Service guide$/, 'kiosk guide title in English')
    await expectText(kiosk.getByTestId('guide-cat-all'), /^All$/, 'kiosk guide category in English')
    await kiosk.getByTestId('kiosk-lang').click()
    await expectText(kiosk.locator('h1'), /^办事指南$/, 'kiosk guide title back in Chinese')
    await expectText(kiosk.getByTestId('guide-cat-all'), /^全部$/, 'kiosk guide category back in Chinese')
    await kiosk.getByTestId('kiosk-home').click()
    await expectText(kiosk.getByTestId('tile-guide'), '办事指南', 'back to Chinese')
    await kiosk.context().close()

    const page = await newPage(desktop)
    // The sign-in form has the switch too; the choice is the staff member's (kept in localStorage).
    await page.goto('/counter/login')
    await expectText(page.getByTestId('login-submit'), /^登录$/, 'counter sign-in in Chinese')
    await page.getByTestId('login-lang').click()
    await expectText(page.getByTestId('login-submit'), /^Sign in$/, 'counter sign-in in English')
    await page.getByTestId('login-lang').click()
    await expectText(page.getByTestId('login-submit'), /^登录$/, 'counter sign-in back in Chinese')
    await login(page, 'counter1')
    await expectText(page.getByTestId('nav-work'), /^工作台$/, 'counter nav in Chinese')
    bad = await mixed(page)
    assert(bad.length === 0, `counter work list labels mixing: ${JSON.stringify(bad)}`)
    await page.getByTestId('counter-lang').click()
    await expectText(page.getByTestId('nav-work'), /^Work lists$/, 'counter nav in English')
    await expectText(page.getByTestId('logout'), /^Log out$/, 'counter logout in English')
    bad = await mixed(page)
    assert(bad.length === 0, `counter work list (English) labels mixing: ${JSON.stringify(bad)}`)
    await shot(page, 'counter-worklist-english', false)
    await page.getByTestId('nav-certs').click()
    await expectText(page.locator('h1'), /^Certificates$/, 'counter certificate list in English')
    await expectText(page.getByTestId('certs-tab-all'), /^All$/, 'certificate tab in English')
    await page.getByTestId('nav-intake').click()
    await expectText(page.locator('h1'), /^New application$/, 'counter intake in English')
    await page.getByTestId('nav-work').click()
    // The setting is kept: a reload stays in English; switching back restores Chinese.
    await page.reload()
    await expectText(page.getByTestId('nav-work'), /^Work lists$/, 'counter language kept after a reload')
    await page.getByTestId('counter-lang').click()
    await expectText(page.getByTestId('nav-work'), /^工作台$/, 'counter back to Chinese')
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
    assert(/还可尝试\d次/.test(msg), `login error says how many tries are left ("${msg}")`)
    await page.context().close()
  })
  await test('counter: the intake ID check says what is wrong with what was typed, as the station does', async () => {
    // The same cases hold station.ValidateIDNumber to these messages (station/identity_test.go).
    const file = JSON.parse(readFileSync(path.join(here, '../../station/testdata/idnumber_messages.json'), 'utf8'))
    const page = await newPage(desktop)
    await login(page, 'counter1')
    await page.goto('/counter/intake')
    await page.getByTestId('intake-matter').first().click()
    for (const c of file.cases) {
      await page.getByTestId('intake-id-number').fill(c.typed)
      await page.getByTestId('intake-name').focus()
      const got = ((await page.getByTestId('intake-id-error').textContent()) ?? '').trim()
      assert(got === c.message, `${c.name}: typed "${c.typed}", screen says "${got}", station says "${c.message}"`)
    }
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
    await page.locator('[data-testid="intake-material"] input[type="checkbox"]').evaluateAll((els) => els.forEach((e) => e.click()))
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

async function scenarioSyncStatusAndNotices() {
  // The demo station syncs with its in-process hub every 2 s: the counter's strip shows it online.
  const page = await newPage(desktop)
  await login(page, 'counter1')
  const t0 = Date.now()
  await expectText(page.getByTestId('sync-state'), '在线', 'counter sync strip state')
  log(`  sync strip shown online after ${Date.now() - t0} ms`)
  await expectText(page.getByTestId('sync-last'), /^\d{2}:\d{2}$/, 'last sync time (HH:MM)')
  await expectText(page.getByTestId('sync-pending'), /^\d+$/, 'records waiting')
  assert((await page.getByTestId('sync-strip').getAttribute('data-alert')) === 'false', 'the strip is not red')
  await shot(page, 'counter-sync-strip', false)
  await page.context().close()

  // The technician's 同步 section: the figures, no dead letters, and the export (audited) downloads.
  const setup = await newPage(desktop)
  await setup.goto('/setup')
  await setup.getByTestId('setup-username').fill('tech')
  await setup.getByTestId('setup-password').fill(PASSWORD)
  await setup.getByTestId('setup-login-submit').click()
  await expectText(setup.getByTestId('setup-sync-hub'), '在线', 'setup sync: online')
  await expectText(setup.getByTestId('setup-sync-dead'), '0 条', 'setup sync: no dead letters')
  await setup.getByTestId('setup-sync-no-dead').waitFor()
  await expectText(setup.getByTestId('setup-sync-bandwidth'), '不限速', 'setup sync: bandwidth')
  assert((await setup.getByTestId('setup-sync-disk').getAttribute('data-low')) === 'false', 'disk not low')
  const href = await setup.getByTestId('setup-sync-export').getAttribute('href')
  const exp = await setup.evaluate(async (u) => {
    const r = await fetch(u, { credentials: 'same-origin' })
    return { status: r.status, type: r.headers.get('Content-Type') }
  }, href)
  assert(exp.status === 200 && exp.type.startsWith('application/x-ndjson'), `export download: ${JSON.stringify(exp)}`)
  await setup.getByTestId('setup-sync').scrollIntoViewIfNeeded()
  await shot(setup, 'setup-sync')
  await test('axe: setup page with the sync section', () => axeCheck(setup, 'setup sync section'))

  // The 集群 section: the demo box alone is its cluster's voter and leader; it makes a join code and
  // says the command to type on a new box.
  const member = setup.getByTestId('setup-cluster-member')
  await member.first().waitFor()
  assert((await member.count()) === 1, 'one box in the demo cluster')
  await expectText(setup.getByTestId('setup-cluster-role'), '投票·主机', 'the box is the voter and the leader')
  assert((await member.first().getAttribute('data-reachable')) === 'true', 'the box is up')
  await setup.getByTestId('setup-cluster-code-btn').click()
  await expectText(setup.getByTestId('setup-cluster-code'), /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/, 'a join code of 16 characters in groups of 4')
  const code = await setup.getByTestId('setup-cluster-code').textContent()
  await expectText(setup.getByTestId('setup-cluster-command'), `station cluster join 127.0.0.1:`, 'the command names the cluster port')
  assert((await setup.getByTestId('setup-cluster-command').textContent()).endsWith(code), 'the command carries the code')
  await setup.getByTestId('setup-cluster').scrollIntoViewIfNeeded()
  await shot(setup, 'setup-cluster')
  await test('axe: setup page with the cluster section', () => axeCheck(setup, 'setup cluster section'))
  await setup.context().close()

  // The data center publishes a notice with the real command, into the demo hub's store; the next
  // sync brings it to the kiosk home.
  const bin = process.env.STATION_BIN.includes('/') ? path.resolve(process.env.STATION_BIN) : process.env.STATION_BIN
  const file = path.join(dataDir, 'notice.json')
  const title = `停水通知 ${Date.now() % 100000}`
  writeFileSync(file, JSON.stringify({ id: 'e2e-notice', title, body: '周六上午9时至12时停水检修。' }))
  const pub = spawnSync(bin, ['hub', 'publish', 'notice', file, '--data', path.join(dataDir, 'hub')], { encoding: 'utf8' })
  assert(pub.status === 0, `hub publish notice: ${pub.status} ${pub.stdout} ${pub.stderr}`)
  const kiosk = await newPage(portrait)
  const published = Date.now()
  const deadline = published + 15_000
  let shown = ''
  while (Date.now() < deadline && !shown.includes(title)) {
    await kiosk.goto('/kiosk')
    await sleep(500)
    shown = (await kiosk.getByTestId('kiosk-notices').textContent({ timeout: 1000 }).catch(() => '')) ?? ''
  }
  assert(shown.includes(title), `the kiosk home shows the published notice (got "${shown}")`)
  log(`  notice published → on the kiosk home: ${Date.now() - published} ms (2 s demo sync interval; not asserted)`)
  await shot(kiosk, 'kiosk-notice', false)
  await test('axe: kiosk home with a notice', () => axeCheck(kiosk, 'kiosk home with a notice'))
  await kiosk.context().close()
}

// ---------------------------------------------------------------- department console (hub)

/** Takes an application for a 区民政局 commitment matter through the station's API and forwards it; with
 * scanPages > 0 the first material gets a scanned PDF of that many pages from the demo camera; with
 * longest the matter with the longest time limit (its due date reaches furthest ahead). */
async function forwardedApplication(name, scanPages, longest = false) {
  const all = (await api('GET', '/api/v1/catalog/matters?department=' + encodeURIComponent('区民政局'))).items ?? []
  const fits = all.filter((x) => x.kind === 'commitment' && x.department === '区民政局' && (x.materials ?? []).length > 0)
  const m = longest ? fits.sort((x, y) => y.time_limit_days - x.time_limit_days)[0] : fits[0]
  assert(m, 'a 区民政局 commitment matter with materials')
  const counter = (await api('POST', '/api/v1/sessions', { username: 'counter1', password: PASSWORD })).token
  const reviewer = (await api('POST', '/api/v1/sessions', { username: 'review1', password: PASSWORD })).token
  const idNumber = freshIdNumber()
  const a = await api(
    'POST',
    '/api/v1/applications',
    {
      matter_code: m.code,
      applicant: { id_type: 'resident', id_number: idNumber, name, phone: '13600136000' },
      materials: m.materials.map((x) => ({ code: x.code, provided: true })),
      note: '',
    },
    counter,
  )
  if (scanPages > 0) {
    const pages = []
    for (let i = 0; i < scanPages; i++) {
      pages.push((await api('POST', '/api/v1/scans/pages', {}, counter)).sha256)
      await api('POST', '/api/v1/demo/camera/next-page', {})
    }
    await api('POST', `/api/v1/applications/${a.id}/materials/${encodeURIComponent(m.materials[0].code)}/scan`, { pages }, counter)
  }
  for (const action of ['pre_review', 'forward']) {
    await api('POST', `/api/v1/applications/${a.id}/transitions`, { action, reason: '' }, reviewer)
  }
  return { ...a, idNumber, material: m.materials[0] }
}

async function hubLogin(page, username) {
  await page.goto(`${hubURL}/hub`)
  await page.waitForURL(/\/hub\/login/)
  await page.getByTestId('hub-login-username').fill(username)
  await page.getByTestId('hub-login-password').fill(PASSWORD)
  await page.getByTestId('hub-login-submit').click()
  await page.getByTestId('hub-user-name').waitFor()
}

/** Reloads a station page until the element shows the expected text (the decision arrives with a sync). */
async function reloadUntil(page, url, testid, expected, what) {
  const deadline = Date.now() + 30_000
  let got = ''
  while (Date.now() < deadline) {
    await page.goto(url)
    got = ((await page.getByTestId(testid).textContent({ timeout: 5000 }).catch(() => '')) ?? '').trim()
    if (got.includes(expected)) return got
    await sleep(1000)
  }
  throw new Error(`${what}: expected ${expected} within 30 s, got "${got}"`)
}

async function scenarioHubConsole() {
  const approved = await forwardedApplication('审批测试', 2)
  const rejected = await forwardedApplication('驳回测试', 0)
  // The longest time limit from today (December 2026) runs into 2027, whose calendar is provisional.
  const longest = await forwardedApplication('暂定测试', 0, true)
  log(`  forwarded ${approved.number} (2 scanned pages) and ${rejected.number}`)

  const page = await newPage(desktop)
  await test('axe: hub console login', async () => {
    await page.goto(`${hubURL}/hub`)
    await page.getByTestId('hub-login-username').waitFor()
    await axeCheck(page, 'hub console login')
  })
  await hubLogin(page, 'minzheng')
  await page.waitForURL(/\/hub\/pending/)
  await expectText(page.getByTestId('hub-user-role'), '区民政局', 'clerk department')
  // The forwards reach the hub with the station's next sync; the pending list refreshes itself.
  const row = page.locator(`[data-testid="hub-row"][data-number="${approved.number}"]`)
  await row.waitFor({ timeout: 30_000 })
  await page.locator(`[data-testid="hub-row"][data-number="${rejected.number}"]`).waitFor({ timeout: 30_000 })
  const listText = await page.getByTestId('hub-list-pending').textContent()
  assert(!listText.includes(approved.idNumber) && !listText.includes('审批测试'), 'the list masks the applicant')
  await shot(page, 'hub-pending')
  await test('axe: hub pending list', () => axeCheck(page, 'hub pending list'))
  await test('hub console: a due date counted in a provisional year is marked 暂定 with the note; the calendar status is shown', async () => {
    const longRow = page.locator(`[data-testid="hub-row"][data-number="${longest.number}"]`)
    await longRow.waitFor({ timeout: 30_000 })
    const r = await page.evaluate(async () => (await fetch('/console/api/applications?list=pending')).json())
    const it = r.items.find((x) => x.number === longest.number)
    assert(it && it.due_date && it.due_calendar, `the console says what the due date was counted on (${JSON.stringify(it)})`)
    const cal = (r.calendar ?? []).map((c) => `${c.year}:${c.status}`).join(' ')
    assert(/2026:official/.test(cal) && /2027:provisional/.test(cal), `calendar status by year (${cal})`)
    const calLine = await expectText(page.getByTestId('hub-calendar'), '2027年 暂定', 'the calendar status above the list')
    assert(calLine.includes('2026年 已正式公布'), `2026 official in the calendar line ("${calLine}")`)
    // Received in an official year with the due date in the next, provisional one: 暂定.
    const received = Number(it.number.slice(2, 6))
    const dueYear = Number(it.due_date.slice(0, 4))
    const official = (y) => (r.calendar ?? []).some((c) => c.year === y && c.status === 'official')
    const provisional = (y) => (r.calendar ?? []).some((c) => c.year === y && c.status === 'provisional')
    if (official(received) && provisional(dueYear)) assert(it.due_calendar === 'provisional', `due ${it.due_date} counted on the provisional ${dueYear} calendar (${it.due_calendar})`)
    const mark = longRow.getByTestId('hub-row-due-mark')
    if (it.due_calendar === 'provisional') {
      await expectText(mark, /^暂定$/, 'the 暂定 tag')
      const tip = await mark.getAttribute('title')
      assert(tip === `（${it.due_provisional_years.map((y) => `${y}年`).join('、')}放假安排未正式公布，按暂定日历计算）`, `the tag's note ("${tip}")`)
      await expectText(page.getByTestId('hub-due-notes'), '放假安排未正式公布，按暂定日历计算', 'the note under the list')
    } else {
      assert((await mark.count()) === (it.due_calendar === 'weekdays' ? 1 : 0), `mark for a due date on the ${it.due_calendar} calendar`)
    }
    await shot(page, 'hub-pending-provisional')
    log(`  ${longest.number}: due ${it.due_date} on the ${it.due_calendar} calendar`)
  })

  const listed = await page.evaluate(async () => (await fetch('/console/api/applications?list=pending')).json())
  if (listed.items.find((x) => x.number === longest.number)?.due_calendar === 'provisional') {
    await page.locator(`[data-testid="hub-row"][data-number="${longest.number}"]`).click()
    await expectText(page.getByTestId('hub-detail-due-note'), '放假安排未正式公布，按暂定日历计算', 'the detail notes the provisional calendar')
    assert((await page.getByTestId('hub-detail-due').getAttribute('data-mark')) === 'provisional', 'the detail marks the due date')
    await shot(page, 'hub-detail-provisional')
    await page.getByTestId('hub-nav-pending').click()
  }
  await row.click()
  await expectText(page.getByTestId('hub-detail-number'), approved.number, 'detail number')
  await expectText(page.getByTestId('hub-detail-status'), '已转办', 'detail status')
  await expectText(page.getByTestId('hub-detail-applicant'), '审批测试', 'applicant name in the detail')
  const idShown = await page.getByTestId('hub-detail-applicant-id').textContent()
  assert(!idShown.includes(approved.idNumber) && idShown.includes(approved.idNumber.slice(-4)), `masked ID (${idShown})`)
  await page.locator(`[data-testid="hub-material-view"][data-code="${approved.material.code}"]`).click()
  const imgLoaded = (n) =>
    page.waitForFunction(
      (p) => {
        const img = document.querySelector(`[data-testid="hub-page-img"][data-page="${p}"]`)
        return img && img.complete && img.naturalWidth > 0
      },
      n,
      { timeout: 20_000 },
    )
  await imgLoaded(1)
  await page.locator('[data-testid="hub-page-btn"][data-page="2"]').click()
  await imgLoaded(2)
  const width = await page.getByTestId('hub-page-img').evaluate((img) => img.naturalWidth)
  assert(width > 700 && width < 900, `page preview is an A4 page at about 100 dpi (width ${width})`)
  await shot(page, 'hub-detail-preview')
  await test('axe: hub application detail', () => axeCheck(page, 'hub application detail'))

  await page.getByTestId('hub-approve').click()
  await page.getByTestId('hub-decision-dialog').waitFor()
  await page.getByTestId('hub-decision-confirm').click()
  await page.getByTestId('hub-decision-ok').waitFor()
  assert((await page.getByTestId('hub-decision').getAttribute('data-action')) === 'approve', 'detail shows the approval')
  await shot(page, 'hub-approved')

  await page.getByTestId('hub-back').click()
  await page.locator(`[data-testid="hub-row"][data-number="${rejected.number}"]`).click()
  await expectText(page.getByTestId('hub-detail-number'), rejected.number, 'second detail number')
  await page.getByTestId('hub-reject').click()
  await page.getByTestId('hub-decision-dialog').waitFor()
  await page.getByTestId('hub-decision-confirm').click()
  await expectText(page.getByTestId('hub-reason-error'), '请填写', 'a reject needs a reason')
  await page.getByTestId('hub-reason').fill('申请人家庭收入超过当地低保标准')
  await shot(page, 'hub-reject-dialog')
  await test('axe: hub reject dialog', () => axeCheck(page, 'hub reject dialog'))
  await page.getByTestId('hub-decision-confirm').click()
  await page.getByTestId('hub-decision-ok').waitFor()
  assert((await page.getByTestId('hub-decision').getAttribute('data-action')) === 'reject', 'detail shows the rejection')

  await page.getByTestId('hub-nav-decided').click()
  await page.locator(`[data-testid="hub-row"][data-number="${approved.number}"]`).waitFor()
  await page.locator(`[data-testid="hub-row"][data-number="${rejected.number}"]`).waitFor()
  await shot(page, 'hub-decided')
  await page.context().close()

  // The decisions flow down with the station's next sync: the counter and the kiosk show them.
  const counter = await newPage(desktop)
  await login(counter, 'counter1')
  await reloadUntil(counter, `/counter/applications/${approved.id}`, 'detail-status', '已批准', 'counter shows the approval')
  await reloadUntil(counter, `/counter/applications/${rejected.id}`, 'detail-status', '未批准', 'counter shows the rejection')
  const tl = await counter.getByTestId('detail-timeline').textContent()
  assert(tl.includes('申请人家庭收入超过当地低保标准'), 'the reject reason is in the station timeline')
  await shot(counter, 'counter-after-department-decision')
  await counter.context().close()

  const kiosk = await newPage(portrait)
  await kiosk.goto('/kiosk/progress')
  await kiosk.getByTestId('progress-number').fill(approved.number)
  await kiosk.getByTestId('progress-last4').fill(approved.idNumber.slice(-4))
  await kiosk.getByTestId('progress-submit').click()
  await expectText(kiosk.getByTestId('progress-status'), '已批准', 'kiosk progress shows the approval')
  await shot(kiosk, 'kiosk-progress-approved', false)
  await kiosk.context().close()
}

/** A clerk reveals the applicant's full ID number for a reason; it hides again (button, timer, leaving). */
async function scenarioHubReveal() {
  const a = await forwardedApplication('查看测试', 0)
  log(`  forwarded ${a.number}`)
  const page = await newPage(desktop)
  // A controllable clock that flows normally until runFor, for the automatic hide.
  await page.clock.install()
  await hubLogin(page, 'minzheng')
  await page.waitForURL(/\/hub\/pending/)
  const row = page.locator(`[data-testid="hub-row"][data-number="${a.number}"]`)
  await row.waitFor({ timeout: 30_000 })
  await row.click()
  await expectText(page.getByTestId('hub-detail-number'), a.number, 'detail number')
  const shown = page.getByTestId('hub-applicant-id-number')
  const masked = await expectText(shown, a.idNumber.slice(-4), 'the masked number')
  assert(!masked.includes(a.idNumber), `the number is masked before a reveal (${masked})`)

  await page.getByTestId('hub-reveal').click()
  await page.getByTestId('hub-reveal-dialog').waitFor()
  await page.getByTestId('hub-reveal-confirm').click()
  await expectText(page.getByTestId('hub-reveal-reason-error'), '原因', 'a reveal needs a reason')
  await page.getByTestId('hub-reveal-reason').fill('核对申请人身份信息')
  await shot(page, 'hub-reveal-dialog')
  await test('axe: hub reveal dialog', () => axeCheck(page, 'hub reveal dialog'))
  await page.getByTestId('hub-reveal-confirm').click()
  await expectText(shown, a.idNumber, 'the full number after the reveal')
  assert((await shown.getAttribute('data-revealed')) === 'true', 'the number is marked revealed')
  await expectText(page.getByTestId('hub-reveal-countdown'), '秒后自动隐藏', 'the countdown')
  await shot(page, 'hub-reveal-shown')
  await page.getByTestId('hub-reveal-hide').click()
  await expectText(shown, a.idNumber.slice(-4), 'masked again after 隐藏')
  assert(!(await shown.textContent()).includes(a.idNumber), 'the 隐藏 button hides the number')

  const reveal = async () => {
    await page.getByTestId('hub-reveal').click()
    await page.getByTestId('hub-reveal-reason').fill('复核申请人身份证号码')
    await page.getByTestId('hub-reveal-confirm').click()
    await expectText(shown, a.idNumber, 'the full number after another reveal')
  }
  await reveal()
  await page.clock.runFor('01:05')
  await page.getByTestId('hub-reveal').waitFor()
  assert(!(await shown.textContent()).includes(a.idNumber), 'the number hides itself after a minute')

  await reveal()
  await page.getByTestId('hub-back').click()
  await row.click()
  await expectText(page.getByTestId('hub-detail-number'), a.number, 'detail number again')
  assert(!(await shown.textContent()).includes(a.idNumber), 'leaving the page drops the revealed number')
  await page.context().close()
}

async function scenarioHubAdmin() {
  const page = await newPage(desktop)
  await hubLogin(page, 'cityadmin')
  await page.waitForURL(/\/hub\/admin/)
  const row = page.getByTestId('hub-station-row').first()
  await row.waitFor()
  await expectText(row.getByTestId('hub-station-health'), /正常|需处理/, 'the demo station has synced')
  await page.getByTestId('hub-conflicts').waitFor()
  // A clerk's page is not the administrator's: the console sends the account to its own start page.
  await page.goto(`${hubURL}/hub/pending`)
  await page.waitForURL(/\/hub\/admin/)
  await shot(page, 'hub-admin')
  await test('axe: hub admin stations', () => axeCheck(page, 'hub admin stations'))
  await test('hub console: the language setting switches to English, is kept, and switches back', async () => {
    await expectText(page.getByTestId('hub-nav-admin'), /^站点状态$/, 'hub nav in Chinese')
    await assertNoMixed(page, 'hub admin')
    await page.getByTestId('hub-lang').click()
    await expectText(page.getByTestId('hub-nav-admin'), /^Stations$/, 'hub nav in English')
    await expectText(page.getByTestId('hub-logout'), /^Log out$/, 'hub logout in English')
    await expectText(page.locator('h1'), /^Stations$/, 'hub title in English')
    await page.reload()
    await expectText(page.getByTestId('hub-nav-admin'), /^Stations$/, 'hub language kept after a reload')
    await page.getByTestId('hub-lang').click()
    await expectText(page.getByTestId('hub-nav-admin'), /^站点状态$/, 'hub back to Chinese')
  })
  await page.getByTestId('hub-logout').click()
  await page.waitForURL(/\/hub\/login/)
  await page.context().close()
}

// ---------------------------------------------------------------- certificates (社区证明)

const certShared = { kioskSerial: '', kioskPayload: '', eligible: null }

/** Waits until the kiosk API sees the card with the given masked number on the reader (null: no card). */
async function waitCard(masked) {
  const deadline = Date.now() + 5000
  while (Date.now() < deadline) {
    const r = await api('GET', '/api/v1/kiosk/card')
    const seen = r && r.card ? r.card.id_number : null
    if (seen === masked) return
    await sleep(100)
  }
  throw new Error(`the reader did not show ${masked ?? 'no card'} within 5 s`)
}

/** Puts demo card c ({index, id_number}) on the reader and waits until the kiosk API sees it. */
async function placeCard(c) {
  await api('POST', '/api/v1/demo/idreader/remove')
  await waitCard(null)
  await api('POST', '/api/v1/demo/idreader/place', { index: c.index })
  await waitCard(c.id_number)
}

/**
 * Finds, through the kiosk API, a demo card holder and a certificate type they may get without a
 * department (MS-001 居住证明 first), skipping the given type codes. Returns { index, card, type }.
 */
async function findEligible(skip = [], department = false) {
  const cards = (await api('GET', '/api/v1/demo/cards')).items ?? []
  for (const c of cards) {
    if (c.card_type !== 'resident') continue
    await placeCard(c)
    const types = ((await api('GET', '/api/v1/kiosk/certificates/types')) ?? []).filter((t) => t.needs_department === department && !skip.includes(t.code))
    types.sort((a, b) => (a.code === 'MS-001' ? -1 : b.code === 'MS-001' ? 1 : 0))
    for (const t of types) {
      const ck = await api('POST', '/api/v1/kiosk/certificates/check', { type_code: t.code })
      if (ck.allowed) return { index: c.index, card: c, type: t }
    }
  }
  throw new Error(`no demo card holder may get any certificate ${department ? 'with' : 'without'} a department`)
}

/** Finds a demo card holder registered in the community for too short a time (rule registered_months_min). */
async function findRecentlyRegistered() {
  const cards = (await api('GET', '/api/v1/demo/cards')).items ?? []
  for (const c of cards) {
    if (c.card_type !== 'resident') continue
    await placeCard(c)
    const types = (await api('GET', '/api/v1/kiosk/certificates/types')) ?? []
    types.sort((a, b) => (a.code === 'MS-001' ? -1 : b.code === 'MS-001' ? 1 : 0))
    for (const t of types) {
      const ck = await api('POST', '/api/v1/kiosk/certificates/check', { type_code: t.code })
      const f = (ck.failures ?? []).find((x) => x.rule === 'registered_months_min')
      if (!ck.allowed && f) return { index: c.index, card: c, type: t, failure: f }
    }
  }
  throw new Error('no demo card holder fails registered_months_min (a resident registered < 6 months is expected)')
}

/** A value for a certificate input that fits its limit. */
function certInputValue(f) {
  const v = f.key === 'purpose' ? '办理居住证' : f.key === 'recipient' ? '长春市朝阳区社保中心' : '测试填写'
  return [...v].slice(0, f.max_len).join('')
}

/** Kiosk: from the home tile to the chosen type's input form (the card must be on the reader). */
async function kioskOpenType(page, type) {
  await page.getByTestId('kiosk-session').waitFor({ timeout: 5000 })
  await page.getByTestId('tile-certificate').click()
  await page.getByTestId('cert-types').waitFor()
  await page.locator(`[data-testid="cert-tab"][data-category="${type.category}"]`).click()
  await page.locator(`[data-testid="cert-type"][data-code="${type.code}"]`).click()
}

// A fresh portrait kiosk page at url, the card of index placed once the page is up (no card before),
// opened on the certificate type. The caller closes the page.
async function kioskCertPage(url, index, type) {
  await api('POST', '/api/v1/demo/idreader/remove')
  await waitCard(null)
  const page = await newPage(portrait)
  try {
    await page.goto(url)
    await page.getByTestId('tile-certificate').waitFor()
    await page.waitForTimeout(300)
    await api('POST', '/api/v1/demo/idreader/place', { index })
    await kioskOpenType(page, type)
    return page
  } catch (e) {
    await page.context().close()
    throw e
  }
}

async function kioskFillInputs(page, type) {
  await page.getByTestId('cert-inputs').waitFor()
  // Quick picks are whole examples from the hint, never pieces of it or placeholders.
  for (const chip of await page.getByTestId('cert-input-chip').allTextContents()) {
    assert(!/[×X…]|哪个|填写|如[：:]/.test(chip), `a quick-pick chip reads "${chip}"`)
  }
  for (const f of type.inputs ?? []) {
    await page.locator(`[data-testid="cert-input"][data-key="${f.key}"]`).fill(certInputValue(f))
  }
}

async function waitImage(page, testid) {
  await page.waitForFunction((id) => {
    const img = document.querySelector(`[data-testid="${id}"]`)
    return img && img.complete && img.naturalWidth > 0
  }, testid, { timeout: 15_000 })
}

/** The station's view of a certificate by serial, through the counter API (station admin). */
async function certBySerial(serial) {
  const sess = await api('POST', '/api/v1/sessions', { username: 'admin', password: PASSWORD })
  for (let p = 1; p <= 20; p++) {
    const r = await api('GET', `/api/v1/certificates?page=${p}`, undefined, sess.token)
    const hit = (r.items ?? []).find((c) => c.serial === serial)
    if (hit) return hit
    if (!(r.items ?? []).length) break
  }
  throw new Error(`certificate ${serial} not in the list`)
}

/** Today's serials in the certificate register (China date), sorted. */
async function registerOfToday() {
  const sess = await api('POST', '/api/v1/sessions', { username: 'admin', password: PASSWORD })
  const prefix = 'ZM' + chinaDate(0).replaceAll('-', '') + '-'
  const out = []
  for (let p = 1; p <= 50; p++) {
    const r = await api('GET', `/api/v1/certificates?page=${p}&per_page=100`, undefined, sess.token)
    for (const c of r.items ?? []) if (c.serial.startsWith(prefix)) out.push(c.serial)
    if ((r.items ?? []).length < 100) break
  }
  return out.sort()
}

/** The serial that follows today's register. */
function nextSerial(serials) {
  const prefix = 'ZM' + chinaDate(0).replaceAll('-', '') + '-'
  return prefix + String(serials.length + 1).padStart(4, '0')
}

/** Today's register holds 0001 … N with no gap and no repeat. */
async function assertRegisterGapFree() {
  const serials = await registerOfToday()
  serials.forEach((s, i) => assert(s.endsWith('-' + String(i + 1).padStart(4, '0')), `register gap at ${s} (position ${i + 1}): ${serials.join(', ')}`))
}

async function scenarioKioskCertificate() {
  const el = await findEligible()
  certShared.eligible = el
  log(`  eligible: card ${el.index} (${el.card.id_number}) for ${el.type.code} ${el.type.name}`)
  await api('POST', '/api/v1/demo/idreader/remove')
  await waitCard(null)
  const page = await newPage(portrait)
  try {
    await page.goto('/kiosk')
    // Without a card the tile is there and says why a card is needed.
    await expectText(page.getByTestId('tile-certificate-need-card'), '请先刷身份证', 'tile hint without a card')
    await page.getByTestId('tile-certificate').click()
    await expectText(page.getByTestId('cert-need-card'), '手工输入证件号码不能开具证明', 'why the card is needed')
    await shot(page, 'kiosk-cert-need-card', false)
    await test('axe: kiosk certificates without a card', () => axeCheck(page, 'kiosk certificates without a card'))
    // Placing the card opens the list in place.
    await page.waitForTimeout(300) // let the event stream connect
    await api('POST', '/api/v1/demo/idreader/place', { index: el.index })
    await page.getByTestId('kiosk-session').waitFor({ timeout: 5000 })
    await page.getByTestId('cert-types').waitFor()
    const tabs = await page.getByTestId('cert-tab').count()
    assert(tabs >= 7, `types in the 7 categories (got ${tabs} tabs)`)
    await shot(page, 'kiosk-cert-types', false)
    await test('axe: kiosk certificate types', () => axeCheck(page, 'kiosk certificate types'))
    await page.locator(`[data-testid="cert-tab"][data-category="${el.type.category}"]`).click()
    await page.locator(`[data-testid="cert-type"][data-code="${el.type.code}"]`).click()
    await kioskFillInputs(page, el.type)
    // Quick picks are whole examples of a hint that lists them (kioskFillInputs checks none is an
    // explanation or a placeholder).
    for (const c of await page.getByTestId('cert-input-chip').allTextContents()) {
      assert((el.type.inputs ?? []).some((f) => (f.hint ?? '').startsWith('如') && f.hint.includes(c.trim())), `chip "${c.trim()}" is an example of its hint`)
    }
    await shot(page, 'kiosk-cert-inputs', false)
    await page.getByTestId('cert-submit').click()
    await page.getByTestId('cert-preview').waitFor()
    await waitImage(page, 'cert-preview-img')
    // A preview carries no number: backing out of it (不打印，返回) burns none.
    await expectText(page.getByTestId('cert-preview-serial'), '打印时生成', 'the preview is not numbered')
    const before = await registerOfToday()
    await page.getByRole('button', { name: '不打印，返回' }).click()
    await page.locator(`[data-testid="cert-tab"][data-category="${el.type.category}"]`).click()
    await page.locator(`[data-testid="cert-type"][data-code="${el.type.code}"]`).click()
    await kioskFillInputs(page, el.type)
    await page.getByTestId('cert-submit').click()
    await page.getByTestId('cert-preview').waitFor()
    await waitImage(page, 'cert-preview-img')
    await shot(page, 'kiosk-cert-preview')
    await test('axe: kiosk certificate preview', () => axeCheck(page, 'kiosk certificate preview'))
    await page.getByTestId('cert-print').click()
    await page.getByTestId('cert-done').waitFor({ timeout: 30_000 })
    await expectText(page.getByTestId('cert-done'), '证明已打印，请取走', 'printed message')
    const serial = await expectText(page.getByTestId('cert-serial'), /^ZM\d{8}-\d{4}$/, 'serial')
    assert(serial === nextSerial(before), `the printed number follows the register with no gap (${serial} after ${before.at(-1) ?? 'none'})`)
    await assertRegisterGapFree()
    const subject = await expectText(page.getByTestId('cert-subject'), /\*/, 'masked name')
    assert(subject !== el.card.name, `the name is masked (${subject})`)
    const body = (await page.locator('body').textContent()) ?? ''
    assert(!fullIdRe.test(body), 'no full 18-digit ID number in the page')
    await page.getByTestId('cert-rating').waitFor()
    await shot(page, 'kiosk-cert-done', false)
    await test('axe: kiosk certificate printed + rating', () => axeCheck(page, 'kiosk certificate printed'))
    await page.locator('[data-testid="cert-rate"][data-score="3"]').click()
    await expectText(page.getByTestId('cert-thanks'), '感谢', 'thanks after rating')
    await shot(page, 'kiosk-cert-rated', false)
    const c = await certBySerial(serial)
    assert(c.status === 'issued' && c.print_count === 1, `station: issued, printed once (${c.status}, ${c.print_count})`)
    certShared.kioskSerial = serial
    certShared.kioskPayload = c.payload
    // Taking the card away wipes the screen and every certificate detail.
    await page.getByTestId('sim-toggle').click()
    await page.getByTestId('sim-remove').click()
    await page.getByTestId('kiosk-session').waitFor({ state: 'detached', timeout: 3000 })
    await page.waitForURL((u) => u.pathname === '/kiosk', { timeout: 3000 })
    assert((await page.getByTestId('cert-done').count()) === 0, 'certificate result gone after removal')
    await page.getByTestId('tile-certificate').click()
    await page.getByTestId('cert-need-card').waitFor()
  } finally {
    await api('POST', '/api/v1/demo/idreader/remove')
    await page.context().close()
  }
}

async function scenarioKioskCertificateIneligible() {
  const bad = await findRecentlyRegistered()
  log(`  ineligible: card ${bad.index} for ${bad.type.code}: ${bad.failure.reason}`)
  // A short idle timeout: after the reasons are shown, the idle wipe must clear them.
  const page = await kioskCertPage('/kiosk?idle=6', bad.index, bad.type)
  try {
    await page.getByTestId('cert-denied').waitFor()
    const reason = page.locator('[data-testid="cert-failure"][data-rule="registered_months_min"] [data-testid="cert-reason"]')
    await expectText(reason, bad.failure.reason, 'the reason in plain Chinese')
    if (bad.failure.advice) {
      await expectText(page.locator('[data-testid="cert-failure"][data-rule="registered_months_min"] [data-testid="cert-advice"]'), bad.failure.advice, 'what to do instead')
    }
    assert((await page.getByTestId('cert-submit').count()) === 0, 'no way to issue')
    await page.getByTestId('kiosk-elder').click()
    await shot(page, 'kiosk-cert-ineligible', false)
    await test('axe: kiosk certificate not allowed (elder mode)', () => axeCheck(page, 'kiosk certificate not allowed'))
    // Idle: back home, session and reasons gone, though the card stays on the reader.
    await page.waitForURL((u) => u.pathname === '/kiosk', { timeout: 12_000 })
    await page.getByTestId('kiosk-session').waitFor({ state: 'detached', timeout: 3000 })
    assert((await page.getByTestId('cert-denied').count()) === 0, 'reasons wiped by the idle timeout')
    await page.getByTestId('tile-certificate').click()
    await page.getByTestId('cert-need-card').waitFor()
  } finally {
    await api('POST', '/api/v1/demo/idreader/remove')
    await page.context().close()
  }
}

async function scenarioKioskCertificatePaperOut() {
  const el = await findEligible(certShared.eligible ? [certShared.eligible.type.code] : [])
  log(`  paper out: card ${el.index} for ${el.type.code} ${el.type.name}`)
  const page = await kioskCertPage('/kiosk', el.index, el.type)
  try {
    await kioskFillInputs(page, el.type)
    await page.getByTestId('cert-submit').click()
    await page.getByTestId('cert-preview').waitFor()
    await api('POST', '/api/v1/demo/document-printer/paper', { loaded: false })
    try {
      await page.getByTestId('cert-print').click()
      await page.getByTestId('cert-print-failed').waitFor({ timeout: 30_000 })
      await expectText(page.getByTestId('cert-print-error'), '缺纸', 'paper-out message')
      await expectText(page.getByTestId('cert-print-error'), '未出具', 'not issued')
      await shot(page, 'kiosk-cert-paper-out', false)
      await test('axe: kiosk certificate print failed', () => axeCheck(page, 'kiosk certificate print failed'))
    } finally {
      await api('POST', '/api/v1/demo/document-printer/paper', { loaded: true })
    }
    await page.getByTestId('cert-retry').click()
    await page.getByTestId('cert-done').waitFor({ timeout: 30_000 })
    const serial = await expectText(page.getByTestId('cert-serial'), /^ZM\d{8}-\d{4}$/, 'serial after retry')
    await assertRegisterGapFree()
    const c = await certBySerial(serial)
    assert(c.status === 'issued' && c.print_count === 1, `the failed print was not counted (${c.status}, print_count ${c.print_count})`)
    await shot(page, 'kiosk-cert-retry-ok', false)
  } finally {
    await api('POST', '/api/v1/demo/document-printer/paper', { loaded: true })
    await api('POST', '/api/v1/demo/idreader/remove')
    await page.context().close()
  }
}

async function scenarioCounterCertificate() {
  const el = certShared.eligible ?? (await findEligible())
  await api('POST', '/api/v1/demo/idreader/remove')
  await waitCard(null)
  const page = await newPage(desktop)
  try {
    await login(page, 'counter1')
    await page.getByTestId('nav-certs').click()
    await page.getByTestId('certs-table').waitFor()
    await page.getByTestId('certs-new').click()
    await api('POST', '/api/v1/demo/idreader/place', { index: el.index })
    await page.getByTestId('ci-read-card').click()
    await page.getByTestId('ci-resident').waitFor()
    await page.getByTestId('ci-type').first().waitFor()
    const withdrawn = page.getByTestId('ci-type-withdrawn')
    assert((await withdrawn.count()) >= 1, 'withdrawn types are listed')
    await expectText(withdrawn.first(), '已停止出具', 'withdrawn type marked')
    await shot(page, 'counter-cert-types')
    await test('axe: counter certificate types', () => axeCheck(page, 'counter certificate types'))
    // Issue a type the resident may get at the counter (not the kiosk's: it may not repeat within days).
    const codes = await page.getByTestId('ci-type').evaluateAll((els) => els.map((e) => e.getAttribute('data-code')))
    const types = (await api('GET', '/api/v1/kiosk/certificates/types')) ?? []
    const order = [...codes.filter((c) => c !== el.type.code), el.type.code]
    let chosen = null
    for (const code of order) {
      const t = types.find((x) => x.code === code)
      if (!t || t.needs_department) continue
      await page.getByTestId('ci-type-search').fill(code)
      await page.locator(`[data-testid="ci-type"][data-code="${code}"]`).click()
      await page.locator('[data-testid="ci-allowed"], [data-testid="ci-denied"]').first().waitFor()
      if ((await page.getByTestId('ci-allowed').count()) === 1) {
        chosen = t
        break
      }
      await page.getByRole('button', { name: '上一步', exact: true }).click()
    }
    assert(chosen, 'some type is allowed at the counter for a card-verified resident')
    log(`  counter issues ${chosen.code} ${chosen.name}`)
    for (const f of chosen.inputs ?? []) {
      await page.locator(`[data-testid="ci-input"][data-key="${f.key}"]`).fill(certInputValue(f))
    }
    await page.getByTestId('ci-issue').click()
    await page.getByTestId('ci-preview').waitFor()
    await waitImage(page, 'ci-preview')
    await expectText(page.getByTestId('ci-serial'), '打印时生成', 'the counter preview is not numbered')
    await page.getByTestId('ci-print').click()
    await page.getByTestId('ci-printed').waitFor({ timeout: 30_000 })
    const serial = await expectText(page.getByTestId('ci-serial'), /^ZM\d{8}-\d{4}$/, 'counter serial')
    await assertRegisterGapFree()
    await shot(page, 'counter-cert-printed')
    await test('axe: counter certificate printed', () => axeCheck(page, 'counter certificate printed'))

    // 补打: confirmed first, then marked in the detail and the list.
    await page.getByTestId('ci-open').click()
    await expectText(page.getByTestId('cd-status'), '已出具', 'detail status')
    await page.getByTestId('cd-reprint-btn').click()
    await expectText(page.getByTestId('cd-reprint-text'), '将打印带"补打"标记的副本并记录审计', 'reprint confirmation')
    await shot(page, 'counter-cert-reprint-confirm', false)
    await page.getByTestId('cd-reprint-confirm').click()
    await expectText(page.getByTestId('cd-reprint'), '补打', 'detail shows 补打')
    await expectText(page.getByTestId('cd-print-count'), /^2/, 'two prints')
    const verify = await expectText(page.getByTestId('cd-verify-url'), '/verify/', 'verify URL for staff')
    const payload = await page.getByTestId('cd-payload').inputValue()
    assert(payload.length > 20 && verify.endsWith(payload), 'payload text shown and in the verify URL')
    await waitImage(page, 'cd-preview')
    await shot(page, 'counter-cert-detail')
    await test('axe: counter certificate detail', () => axeCheck(page, 'counter certificate detail'))
    await page.getByTestId('cd-back').click()
    const row = page.locator(`[data-testid="certs-row"][data-serial="${serial}"]`)
    await row.waitFor()
    await expectText(row.getByTestId('certs-reprint'), '补打', 'list shows 补打')
    await shot(page, 'counter-cert-list')
    await test('axe: counter certificate list', () => axeCheck(page, 'counter certificate list'))

    // 作废 needs a reason.
    await row.click()
    await page.getByTestId('cd-void').click()
    await page.getByTestId('cd-reason-dialog').waitFor()
    await page.getByTestId('cd-reason-confirm').click()
    await expectText(page.getByTestId('cd-reason-error'), '请填写原因', 'reason required')
    await page.getByTestId('cd-reason-input').fill('居民信息填写有误，重新开具')
    await shot(page, 'counter-cert-void-dialog', false)
    await page.getByTestId('cd-reason-confirm').click()
    await expectText(page.getByTestId('cd-status'), '已作废', 'status after void')
    await expectText(page.getByTestId('cd-reason'), '居民信息填写有误', 'void reason shown')
    assert((await page.getByTestId('cd-reprint-btn').count()) === 0, 'no reprint of a voided certificate')
    await page.getByTestId('cd-back').click()
    await page.getByTestId('certs-tab-voided').click()
    await page.locator(`[data-testid="certs-row"][data-serial="${serial}"]`).waitFor()
  } finally {
    await api('POST', '/api/v1/demo/idreader/remove')
    await page.context().close()
  }
}

async function scenarioCounterCertificateRevoke() {
  assert(certShared.kioskSerial, 'the kiosk scenario issued a certificate')
  const c = await certBySerial(certShared.kioskSerial)
  const staff = await newPage(desktop)
  await login(staff, 'counter1')
  await staff.goto(`/counter/certificates/${c.id}`)
  await expectText(staff.getByTestId('cd-status'), '已出具', 'status')
  assert((await staff.getByTestId('cd-revoke').count()) === 0, 'window staff cannot revoke')
  await staff.context().close()
  const page = await newPage(desktop)
  await login(page, 'admin')
  await page.goto(`/counter/certificates/${c.id}`)
  await page.getByTestId('cd-revoke').click()
  await page.getByTestId('cd-reason-input').fill('发现证明依据的登记信息有误')
  await page.getByTestId('cd-reason-confirm').click()
  await expectText(page.getByTestId('cd-status'), '已撤销', 'status after revoke')
  await expectText(page.getByTestId('cd-reason'), '登记信息有误', 'revoke reason shown to staff')
  // The payload the detail shows verifies as revoked on the public verification API.
  const payload = await page.getByTestId('cd-payload').inputValue()
  const v = await api('GET', `/api/v1/verify/${encodeURIComponent(payload)}`)
  assert(v.status === 'revoked', `verification says revoked (${JSON.stringify(v)})`)
  await page.context().close()
}

async function scenarioKioskCertificateDepartment() {
  const el = await findEligible([], true)
  log(`  department: card ${el.index} for ${el.type.code} ${el.type.name} (${el.type.department})`)
  const page = await kioskCertPage('/kiosk', el.index, el.type)
  try {
    await kioskFillInputs(page, el.type)
    await expectText(page.getByTestId('cert-dept-note'), '转为办件', 'explains it becomes an application')
    await page.getByTestId('cert-submit').click()
    await page.getByTestId('cert-submitted').waitFor()
    const number = await expectText(page.getByTestId('cert-app-number'), /^\S+-\d+$/, 'application number')
    await shot(page, 'kiosk-cert-department', false)
    await test('axe: kiosk certificate became an application', () => axeCheck(page, 'kiosk certificate application'))
    const sess = await api('POST', '/api/v1/sessions', { username: 'counter1', password: PASSWORD })
    const apps = await api('GET', `/api/v1/applications?q=${encodeURIComponent(number)}`, undefined, sess.token)
    assert((apps.items ?? []).some((a) => a.number === number), `application ${number} exists at the counter`)
  } finally {
    await api('POST', '/api/v1/demo/idreader/remove')
    await page.context().close()
  }
}


// ---------------------------------------------------------------- on-screen keyboard

/** Taps on-screen keys in order (never page.keyboard): 'SQ' and the like are one key each, ' is the syllable break. */
async function tapKeys(page, keys) {
  for (const k of keys) await page.getByTestId(`kbd-key-${k === "'" ? 'sep' : k}`).click()
}

/** Taps the letters of a pinyin buffer on the on-screen keyboard and waits until it shows them. */
async function tapPinyin(page, letters) {
  await tapKeys(page, [...letters])
  await expectText(page.getByTestId('kbd-buffer'), letters, 'the pinyin buffer')
}

/** Taps the candidate that reads text, paging with › when it is not on the first page. */
async function tapCandidate(page, text) {
  const cand = page.locator(`[data-testid="kbd-cand"][data-text="${text}"]`)
  for (let i = 0; i < 15; i++) {
    await page.getByTestId('kbd-cand').first().waitFor()
    if (await cand.count()) {
      await cand.click()
      return
    }
    const next = page.getByTestId('kbd-next')
    if (!(await next.count()) || (await next.isDisabled())) break
    await next.click()
  }
  const shown = await page.getByTestId('kbd-cand').allTextContents()
  throw new Error(`no candidate "${text}" (last page shown: ${shown.map((x) => x.trim()).join(' ')})`)
}

/** The bounding box of a locator, asserting it is on screen. */
async function box(locator, what) {
  const b = await locator.boundingBox()
  assert(b, `${what} is on screen`)
  return b
}

/** The focused field sits above the keyboard, not under it. */
async function assertNotCovered(page, field, what) {
  const f = await box(field, what)
  const k = await box(page.getByTestId('kbd'), 'the keyboard')
  assert(f.y + f.height <= k.y + 1, `${what} (bottom ${Math.round(f.y + f.height)}) is above the keyboard (top ${Math.round(k.y)})`)
  assert(f.y >= 0, `${what} is inside the viewport (top ${Math.round(f.y)})`)
}

async function scenarioKeyboardCertificate() {
  const el = certShared.eligible ?? (await findEligible())
  const recipient = (el.type.inputs ?? []).find((f) => f.key === 'recipient')
  assert(recipient, `${el.type.code} asks for the recipient (提交单位)`)
  const page = await kioskCertPage('/kiosk', el.index, el.type)
  try {
    await page.getByTestId('cert-inputs').waitFor()
    const field = page.locator('[data-testid="cert-input"][data-key="recipient"]')
    assert((await field.getAttribute('inputmode')) === 'none', 'no system keyboard on the recipient field')
    assert((await page.getByTestId('kbd').count()) === 0, 'no keyboard before a field is tapped')
    await field.click()
    const kbd = page.getByTestId('kbd')
    await kbd.waitFor()
    assert((await kbd.getAttribute('data-layout')) === 'full' && (await kbd.getAttribute('data-mode')) === 'pinyin', 'the full keyboard opens in 拼音')
    assert((await kbd.getAttribute('role')) === 'region' && (await kbd.getAttribute('aria-label')) === '屏幕键盘', 'the keyboard region is labelled 屏幕键盘')
    assert((await page.getByTestId('kbd-backspace').getAttribute('aria-label')) === '退格', 'backspace is labelled 退格')
    await assertNotCovered(page, field, 'the recipient field')
    // Pinyin → a word by tapping its candidate; the rest by the space key (first candidate).
    await tapPinyin(page, 'jiaoyu')
    await expectText(page.getByTestId('kbd-cand').first(), '教育', 'first candidate for jiaoyu')
    await tapCandidate(page, '教育')
    assert((await field.inputValue()) === '教育', `the candidate went into the field (${await field.inputValue()})`)
    assert(((await page.getByTestId('kbd-buffer').textContent()) ?? '').trim() === '', 'the buffer is empty after the pick')
    await tapPinyin(page, 'jux')
    await page.getByTestId('kbd-backspace').click() // edits the buffer, not the field
    await expectText(page.getByTestId('kbd-buffer'), /^ju$/, 'backspace removed the buffer letter')
    assert((await field.inputValue()) === '教育', 'backspace left the field alone while the buffer had letters')
    await tapCandidate(page, '局')
    assert((await field.inputValue()) === '教育局', `the second candidate went after the first (${await field.inputValue()})`)
    // Initials only: jyj → 教育局 (a station word).
    await page.getByTestId('kbd-clear').click()
    assert((await field.inputValue()) === '', '清空 empties the field')
    await tapPinyin(page, 'jyj')
    await expectText(page.getByTestId('kbd-cand').first(), '教育局', 'first candidate for the initials jyj')
    await page.getByTestId('kbd-space').click()
    assert((await field.inputValue()) === '教育局', 'jyj gave 教育局')
    // Backspace with an empty buffer edits the field; ABC mode types letters as they are.
    await page.getByTestId('kbd-backspace').click()
    assert((await field.inputValue()) === '教育', 'backspace removed the last character of the field')
    await page.getByTestId('kbd-mode-abc').click()
    await tapKeys(page, ['j', 'u'])
    assert((await field.inputValue()) === '教育ju', `ABC types letters (${await field.inputValue()})`)
    await page.getByTestId('kbd-backspace').click()
    await page.getByTestId('kbd-backspace').click()
    await page.getByTestId('kbd-mode-pinyin').click()
    await tapPinyin(page, 'ju')
    await tapCandidate(page, '局')
    assert((await field.inputValue()) === '教育局', `back to 教育局 (${await field.inputValue()})`)
    await shot(page, 'kiosk-kbd-cert', false)
    await axeCheck(page, 'kiosk certificate inputs with the on-screen keyboard')
    await page.getByTestId('kbd-done').click()
    await kbd.waitFor({ state: 'detached' })
    // Landscape in elder mode (the tallest keyboard on the shortest screen) still keeps the field in sight.
    await page.setViewportSize({ width: 1920, height: 1080 })
    await page.getByTestId('kiosk-elder').click()
    await field.click()
    await kbd.waitFor()
    await page.waitForTimeout(200) // the scroll into view runs on the next frame
    await assertNotCovered(page, field, 'the recipient field (landscape, elder mode)')
    await shot(page, 'kiosk-kbd-cert-landscape-elder', false)
    await page.getByTestId('kbd-done').click()
    await kbd.waitFor({ state: 'detached' })
    // A physical keyboard still works on the other fields.
    for (const f of el.type.inputs ?? []) {
      if (f.key !== 'recipient') await page.locator(`[data-testid="cert-input"][data-key="${f.key}"]`).fill(certInputValue(f))
    }
    // What the keyboard typed is what the form submits for the preview.
    const issued = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/kiosk/certificates')
    await page.getByTestId('cert-submit').click()
    const body = (await issued).postDataJSON()
    assert(body.inputs?.recipient === '教育局', `the form submits recipient 教育局 (${JSON.stringify(body.inputs)})`)
    await page.getByTestId('cert-preview').waitFor()
    await waitImage(page, 'cert-preview-img')
    assert((await page.getByTestId('kbd').count()) === 0, 'no keyboard over the preview')
  } finally {
    await api('POST', '/api/v1/demo/idreader/remove')
    await page.context().close()
  }
}

async function scenarioKeyboardGuide() {
  const all = (await api('GET', '/api/v1/catalog/matters')).items ?? []
  // A matter whose name starts with a two-character word: type its pinyin, pick it, find the matter.
  const pick = all.find((m) => /^[\u4e00-\u9fff]{2}/.test(m.name)) ?? all[0]
  const word = [...pick.name].slice(0, 2).join('')
  const syllables = pinyin(word, { toneType: 'none', type: 'array', v: true })
  log(`  typing "${syllables.join('')}" for ${word} (${pick.code} ${pick.name})`)
  const page = await newPage(portrait)
  try {
    await page.goto('/kiosk/guide')
    await page.getByTestId('guide-cat').first().waitFor()
    const search = page.getByTestId('guide-search')
    assert((await search.getAttribute('inputmode')) === 'none', 'no system keyboard on the search field')
    await search.click()
    await page.getByTestId('kbd').waitFor()
    await tapPinyin(page, syllables.join(''))
    await tapCandidate(page, word)
    assert((await search.inputValue()) === word, `the search field reads ${word} (${await search.inputValue()})`)
    await page.locator(`[data-testid="guide-matter"][data-code="${pick.code}"]`).waitFor()
    const names = await page.getByTestId('guide-matter').allTextContents()
    assert(names.some((n) => n.includes(word)), `matters named with ${word} listed (${names.length})`)
    // The whole matter name by its initials (the catalog's names are candidates too).
    await page.getByTestId('kbd-clear').click()
    assert((await search.inputValue()) === '', '清空 empties the search')
    const name = pick.name.match(/^[\u4e00-\u9fff]+/)[0] // the name up to any bracket
    const initials = pinyin(name, { pattern: 'first', toneType: 'none', type: 'array' }).join('')
    log(`  typing the initials "${initials}" for ${name}`)
    await tapPinyin(page, initials)
    await expectText(page.getByTestId('kbd-cand').first(), name, `first candidate for ${initials}`)
    await page.getByTestId('kbd-space').click()
    assert((await search.inputValue()) === name, `the search field reads ${name}`)
    await page.locator(`[data-testid="guide-matter"][data-code="${pick.code}"]`).waitFor()
    await shot(page, 'kiosk-kbd-guide', false)
    await axeCheck(page, 'kiosk guide with the on-screen keyboard')
    // Back closes the keyboard.
    await page.getByTestId('kiosk-back').click()
    await page.getByTestId('kbd').waitFor({ state: 'detached', timeout: 3000 })
  } finally {
    await page.context().close()
  }
}

async function scenarioKeyboardProgress() {
  assert(shared.number, 'scenario (a) created an application')
  const page = await newPage(portrait)
  try {
    await page.goto('/kiosk/progress')
    const number = page.getByTestId('progress-number')
    await number.click()
    const kbd = page.getByTestId('kbd')
    await kbd.waitFor()
    assert((await kbd.getAttribute('data-layout')) === 'numpad', 'the numeric pad opens for the application number')
    assert((await page.getByTestId('kbd-key-X').count()) === 0, 'no X key for the application number')
    await assertNotCovered(page, number, 'the application number field')
    const keys = shared.number.match(/SQ|./g)
    await tapKeys(page, keys)
    assert((await number.inputValue()) === shared.number, `the pad typed ${shared.number} (${await number.inputValue()})`)
    const last4Field = page.getByTestId('progress-last4')
    await last4Field.click()
    assert((await page.getByTestId('kbd-key-SQ').count()) === 0, 'no SQ key for the last 4')
    await assertNotCovered(page, last4Field, 'the last-4 field')
    await tapKeys(page, [...shared.idNumber.slice(-4)])
    assert((await last4Field.inputValue()) === shared.idNumber.slice(-4), 'the pad typed the last 4')
    await shot(page, 'kiosk-kbd-numpad', false)
    await axeCheck(page, 'kiosk progress with the numeric pad')
    await page.getByTestId('kbd-done').click()
    await kbd.waitFor({ state: 'detached' })
    await page.getByTestId('progress-submit').click()
    await expectText(page.getByTestId('progress-status'), '已办结', 'kiosk progress status')
  } finally {
    await page.context().close()
  }
}

async function scenarioKeyboardElder() {
  const page = await newPage(portrait)
  try {
    await page.goto('/kiosk/guide')
    const search = page.getByTestId('guide-search')
    await search.click()
    await tapPinyin(page, 'de')
    const key = await box(page.getByTestId('kbd-key-q'), 'key q')
    const cand = await box(page.getByTestId('kbd-cand').first(), 'the first candidate')
    assert(key.height >= 48 && key.width >= 48 && cand.height >= 48, `keys and candidates at least 48 px (${key.width}×${key.height}, ${cand.height})`)
    await page.getByTestId('kiosk-elder').click()
    await page.getByTestId('kbd').waitFor({ state: 'detached', timeout: 3000 }) // the focus left the field
    await search.click()
    await tapPinyin(page, 'de')
    await expectText(page.getByTestId('kbd-buffer'), /^de$/, 'a fresh buffer after the keyboard closed')
    const bigKey = await box(page.getByTestId('kbd-key-q'), 'key q (elder)')
    const bigCand = await box(page.getByTestId('kbd-cand').first(), 'the first candidate (elder)')
    const done = await box(page.getByTestId('kbd-done'), '完成 (elder)')
    assert(bigKey.height >= 64 && bigKey.width >= 64 && bigCand.height >= 64 && done.height >= 64, `elder keys at least 64 px (${bigKey.width}×${bigKey.height}, ${bigCand.height})`)
    assert(bigKey.height > key.height && bigCand.height > cand.height, `elder mode makes keys larger (${key.height} → ${bigKey.height})`)
    await shot(page, 'kiosk-kbd-elder', false)
    await axeCheck(page, 'kiosk guide with the on-screen keyboard (elder mode)')
  } finally {
    await page.context().close()
  }
}

async function scenarioKeyboardIdle() {
  const page = await newPage(portrait)
  try {
    await page.goto('/kiosk/guide?idle=3')
    // In English the keyboard's labels are English only.
    await page.getByTestId('kiosk-lang').click()
    const search = page.getByTestId('guide-search')
    await search.click()
    await expectText(page.getByTestId('kbd-done'), 'Done', '完成 in English')
    assert((await page.getByTestId('kbd').getAttribute('aria-label')) === 'On-screen keyboard', 'the region label in English')
    const labels = (await page.getByTestId('kbd').locator('button').allTextContents()).join(' ')
    assert(!/[\u4e00-\u9fff]/.test(labels), `no Chinese on the English keyboard (${labels})`)
    await tapPinyin(page, "xi'an")
    await expectText(page.getByTestId('kbd-cand').first(), '西安', "first candidate for xi'an")
    await page.waitForURL((u) => u.pathname === '/kiosk', { timeout: 8000 })
    await page.getByTestId('kbd').waitFor({ state: 'detached', timeout: 2000 })
    await page.getByTestId('tile-guide').click()
    await page.getByTestId('guide-search').click()
    await page.getByTestId('kbd').waitFor()
    await expectText(page.getByTestId('kbd-done'), '完成', 'the wipe went back to Chinese')
    assert(((await page.getByTestId('kbd-buffer').textContent()) ?? '') === '', 'the idle wipe emptied the pinyin buffer')
    assert((await page.getByTestId('kbd-cand').count()) === 0, 'no candidates left from before the wipe')
    assert((await page.getByTestId('guide-search').inputValue()) === '', 'the idle wipe emptied the search')
  } finally {
    await page.context().close()
  }
}

async function scenarioImeUnit() {
  const r = spawnSync(process.execPath, [path.join(here, 'ime-check.mjs')], { cwd: path.join(here, '..'), encoding: 'utf8' })
  const out = `${r.stdout}${r.stderr}`
  for (const line of out.trim().split('\n')) log(`  ${line}`)
  assert(r.status === 0, 'e2e/ime-check.mjs passed')
}

// ---------------------------------------------------------------- main

// ---------------------------------------------------------------- first-run setup of a real station

/** An IPv4 address of this machine that is not loopback, or '' (the wizard then runs on the box's own address). */
function lanAddress() {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) return a.address
    }
  }
  return ''
}

/** Waits until something accepts TCP connections on host:port. */
async function waitListening(host, port, what) {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const c = net.connect({ host, port }, () => {
        c.end()
        resolve(true)
      })
      c.on('error', () => resolve(false))
    })
    if (ok) return
    await sleep(100)
  }
  throw new Error(`${what} is not listening on ${host}:${port}`)
}

/**
 * Starts a real station (`station run` without --demo) on a fresh data directory with the ticket
 * printer simulator (`station simulate printer`) as its only device. It serves HTTPS on a LAN address
 * of this machine when there is one, so the browser is a LAN client (a counter computer) that needs the
 * setup code from the banner. Returns its URL, its output so far and a stop function.
 */
async function startFreshStation() {
  const bin = process.env.STATION_BIN?.includes('/') ? path.resolve(process.env.STATION_BIN) : process.env.STATION_BIN
  const dir = mkdtempSync(path.join(os.tmpdir(), 'station-e2e-fresh-'))
  const procs = []
  const stop = async () => {
    for (const p of procs.reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        const done = new Promise((r) => p.once('exit', r))
        p.kill('SIGTERM')
        const t = setTimeout(() => p.kill('SIGKILL'), 5000)
        await done
        clearTimeout(t)
      }
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const printerPort = await freePort()
    const printer = spawn(bin, ['simulate', 'printer', '--listen', `127.0.0.1:${printerPort}`, '--out', path.join(dir, 'printed')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    procs.push(printer)
    const plog = createWriteStream(path.join(artifacts, 'fresh-printer.log'))
    printer.stdout.pipe(plog)
    printer.stderr.pipe(plog)
    await waitListening('127.0.0.1', printerPort, 'the ticket printer simulator')

    // Plain HTTP serves only loopback; a LAN client comes over HTTPS (--listen-https).
    const lan = lanAddress()
    const port = await freePort()
    const httpsPort = await freePort()
    const url = lan ? `https://${lan}:${httpsPort}` : `http://127.0.0.1:${port}`
    const data = path.join(dir, 'data')
    const args = ['run', '--data', data, '--listen', `127.0.0.1:${port}`, '--listen-https', lan ? `${lan}:${httpsPort}` : '']
    const proc = spawn(bin, [...args, '--ticket-printer', `tcp://127.0.0.1:${printerPort}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    procs.push(proc)
    const out = { text: '' }
    const slog = createWriteStream(path.join(artifacts, 'fresh-station.log'))
    proc.stdout.on('data', (b) => {
      out.text += b
      slog.write(b)
    })
    proc.stderr.pipe(slog)
    const deadline = Date.now() + 30_000
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`the fresh station exited (code ${proc.exitCode}); see e2e/artifacts/fresh-station.log`)
      if (Date.now() > deadline) throw new Error('the fresh station did not become ready within 30 s')
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 && out.text.includes('station user add')) break
      } catch {
        // not listening yet
      }
      await sleep(200)
    }
    return { url, lan: lan !== '', data, out, stop }
  } catch (e) {
    await stop()
    throw e
  }
}

async function scenarioWizard() {
  const fresh = await startFreshStation()
  let ctx = null
  try {
    const banner = fresh.out.text
    assert(!/演示账号/.test(banner), `no demo accounts on a real station's banner:\n${banner}`)
    // The station CA is not installed in this browser (scenarioSetupCA checks the CA itself).
    ctx = await browser.newContext({ viewport: desktop, baseURL: fresh.url, locale: 'zh-CN', timezoneId: 'America/New_York', ignoreHTTPSErrors: true })
    const page = await ctx.newPage()
    page.setDefaultTimeout(10_000)
    page.on('pageerror', (err) => log(`  [page error] ${err.message}`))
    await page.goto('/setup')
    await page.getByTestId('wizard').waitFor()
    assert((await page.getByTestId('setup-login').count()) === 0, 'the sign-in form is not shown while the first-run setup is pending')

    // 欢迎 / 设置码
    if (fresh.lan) {
      const code = /设置码：(\d{4}-\d{4})/.exec(banner)?.[1]
      assert(code, `the banner shows the setup code:\n${banner}`)
      const wrong = code === '0000-0000' ? '1111-1111' : '0000-0000'
      await page.getByTestId('wizard-code').fill(wrong)
      await page.getByTestId('wizard-code-submit').click()
      await expectText(page.getByTestId('wizard-code-error'), '设置码不正确', 'a wrong setup code')
      await shot(page, 'wizard-code-wrong')
      await assertNoMixed(page, 'wizard: setup code')
      await page.getByTestId('wizard-code').fill(code.replace('-', ' '))
      await page.getByTestId('wizard-code-submit').click()
    } else {
      log('  (no LAN address on this machine: the wizard runs as the box itself, without a code)')
      await page.getByTestId('wizard-local').waitFor()
      await page.getByTestId('wizard-start').click()
    }

    // 站点信息
    await page.locator('[data-testid="wizard"][data-step="station"]').waitFor()
    await assertNoMixed(page, 'wizard: station')
    await page.getByTestId('wizard-next').click()
    await expectText(page.getByTestId('wizard-error-station_name'), '请填写', 'an empty station name')
    await page.getByTestId('wizard-station-name').fill('红旗社区便民服务站')
    await page.getByTestId('wizard-community').fill('红旗社区')
    await page.getByTestId('wizard-next').click()

    // 管理员账号: a short password is refused before anything is sent
    await page.locator('[data-testid="wizard"][data-step="admin"]').waitFor()
    await page.getByTestId('wizard-username').fill('lijianguo')
    await page.getByTestId('wizard-display-name').fill('李建国')
    await page.getByTestId('wizard-password').fill('short')
    await page.getByTestId('wizard-confirm').fill('short')
    await page.getByTestId('wizard-next').click()
    await expectText(page.getByTestId('wizard-error-admin.password'), '至少10个字符', 'a short password')
    const password = 'hongqi-admin-2026'
    await page.getByTestId('wizard-password').fill(password)
    await page.getByTestId('wizard-confirm').fill(password)
    await axeCheck(page, 'first-run wizard (administrator)')
    await assertNoMixed(page, 'wizard: administrator')
    await page.getByTestId('wizard-next').click()

    // 设备检测: the ticket printer simulator is the one device; its test prints
    await page.locator('[data-testid="wizard"][data-step="devices"]').waitFor()
    const printer = page.locator('[data-testid="wizard-device"][data-kind="ticket_printer"]')
    await printer.waitFor()
    assert((await page.getByTestId('wizard-device').count()) === 1, 'one device detected (the ticket printer)')
    assert((await page.getByTestId('wizard-no-devices').count()) === 0, 'no "未检测到设备" with a printer')
    await printer.getByTestId('wizard-device-test').click()
    const res = await expectText(printer.getByTestId('wizard-device-result'), /\S/, 'ticket test result')
    assert((await printer.getByTestId('wizard-device-result').getAttribute('data-ok')) === 'true', `the test ticket printed ("${res}")`)
    await shot(page, 'wizard-devices')
    await assertNoMixed(page, 'wizard: devices')
    await page.getByTestId('wizard-next').click()

    // 接入数据中心: skipped
    await page.locator('[data-testid="wizard"][data-step="hub"]').waitFor()
    await assertNoMixed(page, 'wizard: data center')
    await page.getByTestId('wizard-skip').click()

    // 完成
    await page.getByTestId('wizard-summary').waitFor()
    await expectText(page.getByTestId('wizard-done-admin'), 'lijianguo', 'the summary names the administrator')
    await expectText(page.getByTestId('wizard-done-community'), '红旗社区', 'the summary shows the community')
    assert((await page.getByTestId('wizard-done-sync').getAttribute('data-sync')) === 'offline', 'not enrolled')
    // The next steps: the station CA for the counter computers, as on the setup page.
    if (fresh.lan) {
      const want = new X509Certificate(readFileSync(path.join(fresh.data, 'tls', 'ca.crt'))).fingerprint256
      await expectText(page.getByTestId('setup-tls-fingerprint'), want, 'the CA fingerprint on the summary')
      const ca = await page.request.get(await page.getByTestId('setup-tls-download').getAttribute('href'))
      assert(ca.status() === 200, `the summary's CA download → ${ca.status()}`)
      assert(new X509Certificate(await ca.body()).fingerprint256 === want, "the summary's CA download is the station CA")
    } else {
      await page.getByTestId('setup-tls').waitFor()
    }
    await shot(page, 'wizard-done')
    await axeCheck(page, 'first-run wizard (summary)')
    await assertNoMixed(page, 'wizard: summary')

    // English behind the switch, one language per label.
    await page.getByTestId('wizard-lang').click()
    await expectText(page.locator('h1'), 'Setup complete', 'the English summary title')
    assert(!/[\u4e00-\u9fff]/.test((await page.locator('h1').textContent()) ?? ''), 'the English title has no Chinese')
    await page.getByTestId('wizard-lang').click()

    // The first-run endpoints are closed; /setup is the technician's sign-in page.
    const st = await page.request.get('/api/v1/setup/first-run')
    assert(st.status() === 200 && (await st.json()).pending === false, `GET /api/v1/setup/first-run after the setup → ${st.status()}`)
    const again = await page.request.post('/api/v1/setup/first-run', { data: {} })
    assert(again.status() === 409, `POST /api/v1/setup/first-run after the setup → ${again.status()}`)
    await page.getByTestId('wizard-to-setup').click()
    await page.getByTestId('setup-login').waitFor()

    // The new administrator signs in at the counter.
    await page.goto('/counter/login')
    await page.getByTestId('login-username').fill('lijianguo')
    await page.getByTestId('login-password').fill(password)
    await page.getByTestId('login-submit').click()
    await page.waitForURL(/\/counter\/work/)
    await expectText(page.getByTestId('user-name'), '李建国', 'the administrator is signed in at the counter')
    await shot(page, 'wizard-counter')
  } finally {
    if (ctx) await ctx.close().catch(() => {})
    await fresh.stop()
  }
}

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
    await test('a2. counter intake with materials missing: refused, then 容缺受理 with items, reason and due date; counter and kiosk show it', scenarioIntakeDeferral)
    await test('b. kiosk guide by pinyin initials and progress lookup', scenarioKioskGuideAndProgress)
    await test('c. kiosk idle timeout wipes input and returns home', scenarioKioskIdle)
    await test('d. kiosk ID card session: banner, 我的办件, removal wipes', scenarioKioskCard)
    await test('e. setup: technician sees 4 devices, test ticket, paper out', scenarioSetup)
    await test('e. setup: 下载本站证书 before sign-in is the CA of the data directory, with its fingerprint', scenarioSetupCA)
    await test('f. counter: read the ID card during intake', scenarioCounterReadCard)
    await test('g. counter: scan two pages, reorder, attach as a PDF', scenarioCounterScan)
    await test('h. kiosk: idle timeout wipes a card session while the card stays on the reader', scenarioKioskCardIdle)
    await test('i. sync: counter strip, setup 同步 section and export, a published notice on the kiosk', scenarioSyncStatusAndNotices)
    await test('j. hub console: clerk previews a scan, approves one and rejects one; counter and kiosk show it', scenarioHubConsole)
    await test('j2. hub console: a clerk reveals the full ID number with a reason; it hides again', scenarioHubReveal)
    await test('k. hub console: the city administrator sees the stations and conflicts', scenarioHubAdmin)
    await test('cert 1. kiosk: card holder picks a certificate, preview, print, rating; card removal wipes', scenarioKioskCertificate)
    await test('cert 2. kiosk: a resident registered < 6 months sees the reason; the idle wipe clears it', scenarioKioskCertificateIneligible)
    await test('cert 3. kiosk: A4 printer out of paper → not issued; paper back → 重试 prints', scenarioKioskCertificatePaperOut)
    await test('cert 4. counter: issue on behalf (read card), 补打 with confirmation, 作废 with reason', scenarioCounterCertificate)
    await test('cert 5. counter: only the station admin revokes', scenarioCounterCertificateRevoke)
    await test('cert 6. kiosk: a type needing a department becomes an application with a number', scenarioKioskCertificateDepartment)
    await test('queue 1. kiosk: 取号 on the first line shows the number and the people ahead; paper out says to note it', scenarioKioskQueue)
    await test('kbd 0. pinyin engine: splitting, candidate order, station words (e2e/ime-check.mjs)', scenarioImeUnit)
    await test('kbd 1. kiosk: on-screen keys type pinyin into the certificate recipient, which the preview is made from', scenarioKeyboardCertificate)
    await test('kbd 2. kiosk: guide search typed in pinyin on the on-screen keyboard finds the matter; back closes it', scenarioKeyboardGuide)
    await test('kbd 3. kiosk: progress lookup typed on the numeric pad', scenarioKeyboardProgress)
    await test('kbd 4. kiosk: elder mode makes the keys and candidates larger', scenarioKeyboardElder)
    await test('kbd 5. kiosk: English labels behind 中/EN; the idle wipe closes the keyboard, empties its buffer and goes back to Chinese', scenarioKeyboardIdle)
    await test('wizard: first-run setup of a real station (setup code from the LAN, device test, skip the hub), then the new admin signs in', scenarioWizard)
    await scenarioAxe()
    await scenarioMisc()
    await test('no screen shown in Chinese has a label mixing Chinese and English', async () => {
      assert(mixedFindings.length === 0, `mixed labels:\n  ${[...new Set(mixedFindings)].join('\n  ')}`)
    })
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
