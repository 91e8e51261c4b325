// Typed client for the Station HTTP API v1 (see docs/api.md).

export interface Category {
  name: string
  count: number
}

export interface Material {
  code: string
  name: string
  required: boolean
  note?: string
}

export interface Matter {
  code: string
  name: string
  pinyin: string
  aliases: string[] | null // everyday names (低保), searched like the name
  department: string
  category: string
  kind: 'immediate' | 'commitment'
  time_limit_days: number
  fee_cents: number
  fee_note: string
  certificate: boolean
  location: string
  conditions: string[] | null
  materials: Material[] | null
  status: string
  version: number
}

export interface User {
  username: string
  display_name: string
  role: string
}

export interface SessionResponse {
  token: string
  user: User
  expires_at: string
}

export interface Applicant {
  id_type: string
  id_number: string
  name: string
  phone: string
}

export interface AppMaterial {
  code: string
  name: string
  required: boolean
  provided: boolean
  /** Scanned copy (PDF), when the material was attached by scanning. */
  blob_sha256?: string
}

export interface TimelineEntry {
  at: string
  action: string
  from: string
  to: string
  actor: string
  role: string
  reason: string
}

export type Deadline = 'ok' | 'due_soon' | 'overdue' | 'none'

export interface Application {
  id: string
  number: string
  matter_code: string
  matter_name: string
  department: string
  kind: 'immediate' | 'commitment'
  status: string
  status_label: string
  applicant: Applicant
  materials: AppMaterial[] | null
  received_at: string
  due_date: string | null
  completed_at: string | null
  completed_on_time: boolean | null
  deadline: Deadline
  working_days_left: number | null
  note?: string
  timeline?: TimelineEntry[] | null
  allowed_actions?: string[] | null
  /** 容缺受理: required materials accepted as missing at intake. */
  deferral?: Deferral | null
}

/** 容缺受理 as the station reports it (station/http/application.go deferralView). */
export interface Deferral {
  materials: { code: string; name: string; provided: boolean }[]
  reason: string
  /** The last day to bring the materials (YYYY-MM-DD). */
  due_date: string
  /** Materials still to bring. */
  outstanding: number
  /** Still outstanding after the due date. */
  overdue: boolean
}

export interface ApplicationList {
  items: Application[] | null
  total: number
  page: number
  per_page: number
}

export interface Stats {
  open: number
  overdue: number
  due_soon: number
  completed: number
  completed_on_time: number
  on_time_rate: number | null
}

export interface Progress {
  number: string
  matter_name: string
  /** Masked applicant name (present in the server's reply, not in docs/api.md). */
  applicant_name?: string
  status: string
  status_label: string
  received_at: string
  due_date: string | null
  deadline: Deadline
  timeline: { at: string; label: string }[] | null
  /** 容缺受理: what the applicant still has to bring, by when. */
  deferral?: Deferral | null
  /** The 补正 notice of an application in 待补正 (only in the card holder's own list). */
  correction?: { reason: string; returned_at: string; location: string } | null
}

export interface IntakeRequest {
  matter_code: string
  applicant: Applicant
  materials: { code: string; provided: boolean }[]
  note: string
  /** 容缺受理: the missing required materials, why, and the due date (YYYY-MM-DD). */
  deferral?: { materials: string[]; reason: string; due_date: string }
}

/** The body of an API error: code for programs, message for people, and the faulty field with an English detail. */
interface ErrorBody {
  code?: string
  message?: string
  field?: string
  detail?: string
}

/**
 * An error returned by the API, carrying its code and (Chinese) message, which is what screens show.
 * field and detail (English) name the request field at fault, for the console and for programs,
 * never for the person at the screen.
 */
export class ApiError extends Error {
  readonly code: string
  readonly status: number
  readonly field: string
  readonly detail: string
  constructor(status: number, code: string, message: string, field = '', detail = '') {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.field = field
    this.detail = detail
  }
}

/** Builds the ApiError of a non-2xx answer from its (possibly empty) body. */
function apiError(status: number, d: ErrorBody): ApiError {
  if (d.detail) console.warn(`API ${status} ${d.code ?? ''}: ${d.field ? d.field + ': ' : ''}${d.detail}`)
  return new ApiError(
    status,
    d.code ?? `HTTP${status}`,
    d.message || fallbackMessages[status] || `请求失败（${status}）`,
    d.field ?? '',
    d.detail ?? '',
  )
}

/** Chinese fallbacks when an error body has no usable message. */
const fallbackMessages: Record<number, string> = {
  400: '输入有误，请检查后重试',
  401: '请先登录',
  403: '没有权限执行此操作',
  404: '未找到',
  409: '当前状态不允许此操作',
  405: '提交的内容有误，请刷新页面后重试',
  413: '提交内容过大',
  415: '提交的内容有误，请刷新页面后重试',
  423: '账户已锁定，请稍后再试',
  503: '系统暂不可用，请稍后再试',
  507: '本机存储空间不足，暂停受理新业务，请联系技术人员。已有数据安全。',
}

/** Returns a message suitable for display (Chinese) for any thrown value. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message
  return '网络异常，请稍后重试'
}

let bearer = ''
let unauthorizedHandler: (() => void) | null = null

/** Keeps the staff session token in memory; it is sent as Authorization: Bearer. */
export function setToken(token: string): void {
  bearer = token
}

/** Registers the callback run when a staff call gets 401 (the counter goes back to login). */
export function onUnauthorized(fn: () => void): void {
  unauthorizedHandler = fn
}

export interface RequestOptions {
  /** Staff call: sends the Bearer token, and a 401 triggers the unauthorized handler. */
  staff?: boolean
  /** With staff: do not run the unauthorized handler on 401 (the caller handles it). */
  quiet401?: boolean
  signal?: AbortSignal
}

/** Calls the station API: JSON in and out; a non-2xx answer throws an ApiError with the server's code and message. */
export async function request<T>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (opts.staff && bearer) headers['Authorization'] = `Bearer ${bearer}`
  let res: Response
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal: opts.signal,
    })
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    throw new ApiError(0, 'ENETWORK', '网络异常，请稍后重试')
  }
  if (res.status === 204) return undefined as T
  const text = await res.text()
  let data: unknown = undefined
  if (text) {
    try {
      data = JSON.parse(text)
    } catch {
      data = undefined
    }
  }
  if (!res.ok) {
    const err = apiError(res.status, (data ?? {}) as ErrorBody)
    if (res.status === 401 && opts.staff && !opts.quiet401 && unauthorizedHandler) unauthorizedHandler()
    throw err
  }
  return data as T
}

const v1 = '/api/v1'
const enc = encodeURIComponent

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== '') q.set(k, String(v))
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

// Public (kiosk) calls.
export const catalog = {
  categories: (signal?: AbortSignal) => request<Category[] | null>('GET', `${v1}/catalog/categories`, undefined, { signal }),
  matters: (p: { q?: string; category?: string; department?: string }, signal?: AbortSignal) =>
    request<{ items: Matter[] | null }>('GET', `${v1}/catalog/matters${query(p)}`, undefined, { signal }),
  matter: (code: string) => request<Matter>('GET', `${v1}/catalog/matters/${enc(code)}`),
}

export const progress = (number: string, idLast4: string) =>
  request<Progress>('POST', `${v1}/progress`, { number, id_last4: idLast4 })

// Staff calls.
export const sessions = {
  login: (username: string, password: string) =>
    request<SessionResponse>('POST', `${v1}/sessions`, { username, password }),
  /** Whether a session exists: 200 either way, so that a page checking before sign-in logs no error. */
  status: () => request<{ authenticated: boolean; user?: User }>('GET', `${v1}/sessions/status`, undefined, { staff: true, quiet401: true }),
  logout: () => request<void>('DELETE', `${v1}/sessions/current`, undefined, { staff: true, quiet401: true }),
}

export const applications = {
  list: (p: { status?: string; deadline?: string; matter?: string; q?: string; page?: number; per_page?: number }) =>
    request<ApplicationList>('GET', `${v1}/applications${query(p)}`, undefined, { staff: true }),
  get: (id: string) => request<Application>('GET', `${v1}/applications/${enc(id)}`, undefined, { staff: true }),
  create: (req: IntakeRequest) => request<Application>('POST', `${v1}/applications`, req, { staff: true }),
  transition: (id: string, action: string, reason: string) =>
    request<Application>('POST', `${v1}/applications/${enc(id)}/transitions`, { action, reason }, { staff: true }),
}

// Scanning materials (counter roles).
export interface ScannedPage {
  sha256: string
  width: number
  height: number
  bytes: number
  detected: boolean
  note: string
}

export const scans = {
  capture: () => request<ScannedPage>('POST', `${v1}/scans/pages`, {}, { staff: true }),
  attach: (id: string, code: string, pages: string[]) =>
    request<Application>('POST', `${v1}/applications/${enc(id)}/materials/${enc(code)}/scan`, { pages }, { staff: true }),
  /** Same-origin URL of a stored blob (JPEG page or PDF); the session cookie authorizes it. */
  blobURL: (sha: string) => `${v1}/blobs/${enc(sha)}`,
  previewURL: `${v1}/devices/camera/preview`,
}

export const stats = () => request<Stats>('GET', `${v1}/stats`, undefined, { staff: true })

// Kiosk card session (answers only to a browser on the same box).
export interface KioskCard {
  card_type: string
  document_type: string
  name: string
  /** Masked ID number. */
  id_number: string
}

// The queue (排队叫号) at the kiosk (docs/api.md, Queue).
export interface QueueLine {
  code: string
  name: string
  /** One capital letter, printed before the number. */
  prefix: string
  active: boolean
}

export interface QueueTicket {
  id: string
  line: string
  day: string
  seq: number
  /** The number on the slip, e.g. A012. */
  number: string
  status: string
  channel: string
}

export interface KioskTicket {
  ticket: QueueTicket
  status_label?: string
  /** People waiting ahead of this ticket. */
  ahead: number
  follow_url: string
  printed: boolean
  /** Why the slip did not print (Chinese, for the screen). */
  print_error?: string
}

export const kioskApi = {
  card: () => request<{ card: KioskCard | null }>('GET', `${v1}/kiosk/card`),
  applications: () => request<{ items: Progress[] | null }>('GET', `${v1}/kiosk/applications`),
  queueLines: () => request<{ items: QueueLine[] | null }>('GET', `${v1}/kiosk/queue/lines`),
  takeTicket: (line: string) => request<KioskTicket>('POST', `${v1}/kiosk/queue/tickets`, { line }),
}

// Demo simulator panel (demo mode only).
export interface DemoCard {
  index: number
  name: string
  id_number: string
  card_type: string
}

export interface DeviceResult {
  ok: boolean
  message: string
}

export const demo = {
  cards: () => request<{ items: DemoCard[] | null }>('GET', `${v1}/demo/cards`),
  place: (index: number) => request<DeviceResult>('POST', `${v1}/demo/idreader/place`, { index }),
  remove: () => request<DeviceResult>('POST', `${v1}/demo/idreader/remove`, {}),
  ticketPaper: (loaded: boolean) => request<DeviceResult>('POST', `${v1}/demo/ticket-printer/paper`, { loaded }),
  documentPaper: (loaded: boolean) => request<DeviceResult>('POST', `${v1}/demo/document-printer/paper`, { loaded }),
  nextPage: () => request<{ page: number }>('POST', `${v1}/demo/camera/next-page`, {}),
  lastTicketURL: `${v1}/demo/ticket-printer/last.png`,
}

// Devices (technician / admin; the ID reader also for counter staff).
export interface DeviceStatus {
  kind: string
  /** The station was given this device (false: listed only to say it is not configured). */
  configured?: boolean
  name: string
  detail: string
  connected: boolean
  state: string
  reasons?: string[] | null
  /** How the station reaches it: serial, tcp, ipp, v4l2 or sim (codes; the UI labels them). */
  link?: string
  /** Serial port or device node, host:port, or printer URI. */
  port?: string
  /** Serial line speed, when known. */
  baud?: number
  /** The driver's Chinese explanation of an error state (e.g. the SAM's fault). */
  message?: string
  last_error?: string
  last_error_at: string
  updated_at: string
}

export interface CardView {
  card_type: string
  document_type: string
  name: string
  sex: string
  ethnicity: string
  birth_date: string | null
  address: string
  id_number: string
  masked: boolean
  authority: string
  valid_to: string
  resident_id?: string
}

/** Fetches a binary staff resource (e.g. a camera still) and returns it as a data: URL (the CSP allows data: images). */
async function fetchDataURL(method: string, path: string): Promise<string> {
  const headers: Record<string, string> = {}
  if (bearer) headers['Authorization'] = `Bearer ${bearer}`
  let res: Response
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin' })
  } catch {
    throw new ApiError(0, 'ENETWORK', '网络异常，请稍后重试')
  }
  if (!res.ok) {
    let d: ErrorBody = {}
    try {
      d = (await res.json()) as typeof d
    } catch {
      // not JSON
    }
    if (res.status === 401 && unauthorizedHandler) unauthorizedHandler()
    throw apiError(res.status, d)
  }
  const blob = await res.blob()
  return await new Promise<string>((resolve, reject) => {
    const r = new FileReader()
    r.onload = () => resolve(String(r.result))
    r.onerror = () => reject(new ApiError(0, 'EREAD', '图像读取失败'))
    r.readAsDataURL(blob)
  })
}

export const devices = {
  list: () => request<{ items: DeviceStatus[] | null }>('GET', `${v1}/devices`, undefined, { staff: true }),
  ticketTest: () => request<DeviceResult>('POST', `${v1}/devices/ticket-printer/test`, {}, { staff: true }),
  pageTest: () => request<DeviceResult>('POST', `${v1}/devices/document-printer/test`, {}, { staff: true }),
  cameraStill: () => fetchDataURL('POST', `${v1}/devices/camera/still`),
  readCard: () => request<CardView>('POST', `${v1}/devices/idreader/read`, {}, { staff: true }),
  lastTicket: () => fetchDataURL('GET', `${v1}/demo/ticket-printer/last.png?t=${Date.now()}`),
  eventsURL: `${v1}/devices/events`,
}

// Sync with the data center (status: any staff account; dead letters: technician, station admin).
export interface SyncStatus {
  enrolled: boolean
  station_id?: string
  station_name?: string
  hub_url?: string
  online: boolean
  pending: number
  oldest_unsent?: string
  oldest_unsent_age_seconds: number
  dead_letters: number
  acked: number
  last_attempt?: string
  last_success?: string
  last_error?: string
  bytes_sent: number
  bytes_received: number
  records_acked: number
  clock_skew_seconds: number
  cursor: string
  cursor_updated_at?: string
  drift: boolean
  resyncs: number
  consecutive_failures: number
  /** Bytes per second allowed now; 0 means unlimited. */
  bandwidth_limit: number
}

export interface DiskStatus {
  free_bytes: number
  reserve_bytes: number
  low: boolean
  checked_at?: string
  error?: string
}

export interface SyncStatusView {
  sync: SyncStatus
  disk?: DiskStatus
  /** What needs attention, in Chinese; empty when all is well. */
  alerts: string[]
  at: string
}

export interface DeadLetter {
  seq: number
  id: string
  kind: string
  code: string
  reason: string
  message: string
  at: string
  attempts: number
}

export interface RetryResult {
  retried: number
  dead_letters: number
}

export const syncApi = {
  status: () => request<SyncStatusView>('GET', `${v1}/sync/status`, undefined, { staff: true }),
  deadLetters: () => request<{ items: DeadLetter[] | null }>('GET', `${v1}/sync/dead-letters`, undefined, { staff: true }),
  retry: (seqOrID: string | number) =>
    request<RetryResult>('POST', `${v1}/sync/dead-letters/${enc(String(seqOrID))}/retry`, {}, { staff: true }),
  retryAll: () => request<RetryResult>('POST', `${v1}/sync/dead-letters/retry-all`, {}, { staff: true }),
  /** Same-origin download of the dead letters as JSON lines; the session cookie authorizes it (audited). */
  exportURL: `${v1}/sync/dead-letters/export`,
}

// Notices published by the data center (public: the kiosk shows them).
export interface Notice {
  id: string
  title: string
  body: string
  published_at: string
}

export const notices = {
  list: (signal?: AbortSignal) => request<{ items: Notice[] | null }>('GET', `${v1}/notices`, undefined, { signal }),
}

// HTTPS for the counter terminals (public: a terminal downloads the station CA before it trusts the
// station; the technician compares the fingerprint with the one on the box's own screen).
export interface TLSStatusView {
  enabled: boolean
  station_ca: boolean
  ca_fingerprint_sha256?: string
  ca_subject?: string
  ca_not_after?: string
  names: string[]
  not_after?: string
  https_port?: string
  loopback_only?: boolean
}

// The station's cluster (the setup page's 集群 section).
export interface ClusterView {
  enabled: boolean
  self: string
  leader: string
  warning?: string
  members: {
    id: string
    addr: string
    voter: boolean
    leader: boolean
    self: boolean
    reachable: boolean
    applied: number
    lag: number
    last_contact?: string
    error?: string
  }[]
}

export interface JoinCodeView {
  code: string
  expires: string
  addr: string
  command: string
}

export const clusterApi = {
  status: () => request<ClusterView>('GET', `${v1}/setup/cluster`, undefined, { staff: true }),
  joinCode: () => request<JoinCodeView>('POST', `${v1}/setup/cluster/join-code`, {}, { staff: true }),
}

export const tlsApi = {
  status: () => request<TLSStatusView>('GET', `${v1}/setup/tls`),
  /** The station CA in DER, as application/x-x509-ca-cert. */
  caURL: `${v1}/setup/ca.crt`,
}
