// The first-run setup of a real station (GET/POST /api/v1/setup/first-run…): whether it is pending,
// and the calls of the setup wizard. A computer on the LAN first exchanges the one-time setup code
// for a setup token, which the station sets as a cookie (Path /api/v1/setup/); the box's own screen
// needs none. None of these calls is a staff call: a 401 here means "enter the setup code", never
// "go to the login page".

import { reactive } from 'vue'
import { ApiError, request, type CardView, type DeviceResult, type DeviceStatus } from '../api'

const base = '/api/v1/setup/first-run'

/** GET /api/v1/setup/first-run. devices and tests are null until the client is admitted. */
export interface FirstRunView {
  pending: boolean
  code_required: boolean
  local: boolean
  devices: DeviceStatus[] | null
  tests: string[] | null
}

export interface FirstRunRequest {
  station_name: string
  community: string
  admin: { username: string; display_name: string; password: string }
  hub_url: string
  token: string
}

export interface FirstRunDone {
  station_name: string
  community: string
  admin: { username: string; display_name: string; role: string }
  enrolled?: { station_id: string; station_name: string }
  /** running: enrolled and syncing; restart_needed: enrolled, syncs after a restart; offline: not enrolled. */
  sync: 'running' | 'restart_needed' | 'offline'
}

/** Whether /setup shows the wizard: set by checkFirstRun, cleared when the technician leaves the summary. */
export const firstRun = reactive({ pending: false, checked: false, view: null as FirstRunView | null })

/**
 * Asks the station whether the first-run setup is pending. A station already set up (or the demo)
 * answers pending: false and /setup is the technician's page; so is any failure (the page then asks
 * for a sign-in).
 */
export async function checkFirstRun(): Promise<void> {
  if (firstRun.checked && !firstRun.pending) return
  try {
    firstRun.view = await request<FirstRunView>('GET', base)
    firstRun.pending = firstRun.view.pending
  } catch {
    firstRun.view = null
    firstRun.pending = false
  }
  firstRun.checked = true
}

export const firstRunApi = {
  state: () => request<FirstRunView>('GET', base),
  code: (code: string) => request<{ token: string; expires_at: string }>('POST', `${base}/code`, { code }),
  complete: (req: FirstRunRequest) => request<FirstRunDone>('POST', base, req),
  ticketTest: () => request<DeviceResult>('POST', `${base}/devices/ticket-printer/test`, {}),
  pageTest: () => request<DeviceResult>('POST', `${base}/devices/document-printer/test`, {}),
  readCard: () => request<CardView>('POST', `${base}/devices/idreader/read`, {}),
  /** Takes a camera still and returns it as a data: URL (the CSP allows data: images). */
  cameraStill: async (): Promise<string> => {
    let res: Response
    try {
      res = await fetch(`${base}/devices/camera/still`, { method: 'POST', credentials: 'same-origin' })
    } catch {
      throw new ApiError(0, 'ENETWORK', '网络异常，请稍后重试')
    }
    if (!res.ok) {
      const d = (await res.json().catch(() => ({}))) as { code?: string; message?: string; field?: string }
      throw new ApiError(res.status, d.code ?? `HTTP${res.status}`, d.message || `请求失败（${res.status}）`, d.field ?? '')
    }
    const blob = await res.blob()
    return await new Promise<string>((resolve, reject) => {
      const r = new FileReader()
      r.onload = () => resolve(String(r.result))
      r.onerror = () => reject(new ApiError(0, 'EREAD', '图像读取失败'))
      r.readAsDataURL(blob)
    })
  },
}
