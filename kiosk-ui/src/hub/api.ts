// Typed client for the department console's API (/console/api, served by the hub: syncer/hub/console).
// The session is an HttpOnly cookie set at login, so <img> tags can load material page previews.

import { ApiError } from '../api'

export interface HubUser {
  username: string
  display_name: string
  role: 'clerk' | 'admin'
  role_label: string
  department?: string
}

export interface Decision {
  action: 'approve' | 'reject'
  action_label: string
  reason: string
  decided_at: string
  decided_by: string
  /** hub: decided in this console (or by the hub's command line); station: already applied at the station. */
  source: 'hub' | 'station'
}

export interface HubApplication {
  station_id: string
  station_name: string
  id: string
  number: string
  matter_code: string
  matter_name: string
  department: string
  /** Masked name. */
  applicant_name: string
  /** Masked document number. */
  applicant_id: string
  status: string
  status_label: string
  received_at: string
  forwarded_at?: string
  due_date: string | null
  due_estimate?: boolean
  /**
   * What the due date was counted on: official; provisional (a year whose 放假调休 notice is not out,
   * in due_provisional_years); weekdays (no calendar for a year: Monday to Friday). Absent without a
   * due date or from an older console.
   */
  due_calendar?: 'official' | 'provisional' | 'weekdays'
  due_provisional_years?: number[] | null
  decision: Decision | null
}

/** One year of the working-day calendar the console counts due dates on. */
export interface CalendarYear {
  year: number
  status: 'official' | 'provisional'
}

export interface HubMaterial {
  code: string
  name: string
  required: boolean
  provided: boolean
  blob_sha256?: string
  pages: number
}

export interface HubEvent {
  at: string
  action: string
  action_label: string
  to: string
  to_label: string
  reason: string
}

export interface HubApplicationDetail extends HubApplication {
  applicant_full_name: string
  applicant_id_type: string
  kind: string
  time_limit_days: number
  materials: HubMaterial[] | null
  timeline: HubEvent[] | null
  can_decide: boolean
}

/** The answer of a reveal: the applicant's full ID number. Keep it in memory only, briefly. */
export interface RevealedID {
  id_type: string
  id_type_label: string
  id_number: string
  masked: string
}

export interface StationHealth {
  id: string
  name: string
  enrolled_at: string
  last_seen?: string
  lag_seconds: number
  backlog: number
  dead_letters: number
  version: string
  clock_skew_ms: number
  acked_seq: number
  conflicts: number
  health: 'ok' | 'late' | 'never' | 'attention'
  health_label: string
}

export interface Conflict {
  station_id: string
  station_name: string
  id: string
  seq: number
  kind: string
  payload_sha256: string
  held_sha256: string
  received_at: string
}

const fallback: Record<number, string> = {
  400: '输入有误，请检查后重试',
  401: '请先登录',
  403: '没有权限执行此操作',
  404: '未找到',
  409: '当前状态不允许此操作',
  423: '账户已锁定，请稍后再试',
  503: '系统暂不可用，请稍后再试',
}

let unauthorized: (() => void) | null = null

/** Registers what happens when a call gets 401 (the console goes back to its login page). */
export function onHubUnauthorized(fn: () => void): void {
  unauthorized = fn
}

async function call<T>(method: string, path: string, body?: unknown, quiet401 = false): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(`/console/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    })
  } catch {
    throw new ApiError(0, 'ENETWORK', '网络异常，请稍后重试')
  }
  if (res.status === 204) return undefined as T
  let data: unknown = undefined
  try {
    data = await res.json()
  } catch {
    data = undefined
  }
  if (!res.ok) {
    const d = (data ?? {}) as { code?: string; message?: string }
    if (res.status === 401 && !quiet401 && unauthorized) unauthorized()
    throw new ApiError(res.status, d.code ?? `HTTP${res.status}`, d.message || fallback[res.status] || `请求失败（${res.status}）`)
  }
  return data as T
}

const enc = encodeURIComponent
const app = (station: string, id: string) => `/applications/${enc(station)}/${enc(id)}`

export const hubApi = {
  login: (username: string, password: string) =>
    call<{ user: HubUser; expires_at: string }>('POST', '/sessions', { username, password }, true),
  /** Whether a session exists: 200 either way, so that the login page logs no error. */
  status: () => call<{ authenticated: boolean; user?: HubUser }>('GET', '/sessions/status', undefined, true),
  logout: () => call<void>('DELETE', '/sessions/current', undefined, true),
  applications: (list: 'pending' | 'decided') => call<{ items: HubApplication[] | null; calendar?: CalendarYear[] | null }>('GET', `/applications?list=${list}`),
  application: (station: string, id: string) => call<HubApplicationDetail>('GET', app(station, id)),
  /** Same-origin URL of page n (1-based) of a material's scan as PNG; the session cookie authorizes it. */
  pageURL: (station: string, id: string, code: string, n: number) => `/console/api${app(station, id)}/materials/${enc(code)}/pages/${n}`,
  decide: (station: string, id: string, action: 'approve' | 'reject', reason: string) =>
    call<HubApplication>('POST', `${app(station, id)}/decision`, { action, reason }),
  /** The applicant's full ID number, for a reason (required; audited at the hub, answered no-store). */
  reveal: (station: string, id: string, reason: string) => call<RevealedID>('POST', `${app(station, id)}/reveal`, { reason }),
  stations: () => call<{ items: StationHealth[] | null }>('GET', '/stations'),
  conflicts: () => call<{ items: Conflict[] | null }>('GET', '/conflicts'),
}
