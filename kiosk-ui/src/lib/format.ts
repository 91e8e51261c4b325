// Display helpers shared by the kiosk and the counter.

import type { Deadline } from '../api'
import { labelMap, t, type MessageKey } from './i18n'

const chinaTime = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
})

/**
 * Formats an RFC 3339 time as YYYY-MM-DD HH:mm in China Standard Time, whatever zone the browser's
 * machine is set to, so that times agree with due dates and application numbers (which the station
 * computes in China time).
 */
export function fmtTime(s: string | null | undefined): string {
  if (!s) return '—'
  const d = new Date(s)
  if (Number.isNaN(d.getTime())) return s
  const part: Record<string, string> = {}
  for (const p of chinaTime.formatToParts(d)) part[p.type] = p.value
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}`
}

/**
 * The China Standard Time date n days after now, as YYYY-MM-DD, whatever zone the browser's machine is
 * set to: the station decides what "today" is in China time, so the screens must agree with it.
 */
export function chinaToday(n = 0): string {
  return chinaDay(n).toISOString().slice(0, 10)
}

/** A Date whose UTC fields are the China Standard Time wall clock n days after now. */
export function chinaDay(n = 0): Date {
  return new Date(Date.now() + 8 * 3600_000 + n * 86400_000)
}

export function fmtDate(s: string | null | undefined): string {
  return s ? s : '—'
}

export function fmtFee(cents: number, note: string): string {
  if (!cents) return note || t('fee.free')
  const yuan = (cents / 100).toFixed(2)
  return note ? t('fee.withNote', { yuan, note }) : t('fee.yuan', { yuan })
}

export const deadlineLabels: Record<Deadline, string> = labelMap({
  ok: 'deadline.ok',
  due_soon: 'deadline.due_soon',
  overdue: 'deadline.overdue',
  none: 'deadline.none',
})

/**
 * The 承诺办结 cell: the due date, or for an application without one why there is none (an immediate
 * matter is done on the spot; a matter without a time limit has none).
 */
export function fmtDue(due: string | null | undefined, kind?: string): string {
  if (due) return due
  if (kind === undefined) return '—'
  return kind === 'immediate' ? t('due.immediate') : t('due.none')
}

export const kindLabels: Record<string, string> = labelMap({
  immediate: 'kind.immediate',
  commitment: 'kind.commitment',
})

const idType = (value: string, key: MessageKey) => ({
  value,
  get label() {
    return t(key)
  },
})

export const idTypes: { value: string; label: string }[] = [
  idType('resident', 'idtype.resident'),
  idType('hkmo_permit', 'idtype.hkmo_permit'),
  idType('tw_permit', 'idtype.tw_permit'),
  idType('hkmo_pass', 'idtype.hkmo_pass'),
  idType('tw_pass', 'idtype.tw_pass'),
  idType('foreign_permanent', 'idtype.foreign_permanent'),
]

export const roleLabels: Record<string, string> = labelMap({
  staff: 'role.staff',
  reviewer: 'role.reviewer',
  station_admin: 'role.station_admin',
  technician: 'role.technician',
})

export const actionLabels: Record<string, string> = labelMap({
  intake: 'action.intake',
  pre_review: 'action.pre_review',
  return: 'action.return',
  resubmit: 'action.resubmit',
  forward: 'action.forward',
  approve: 'action.approve',
  reject: 'action.reject',
  complete: 'action.complete',
  withdraw: 'action.withdraw',
})

export const statusLabels: Record<string, string> = labelMap({
  received: 'status.received',
  pre_reviewed: 'status.pre_reviewed',
  forwarded: 'status.forwarded',
  approved: 'status.approved',
  rejected: 'status.rejected',
  completed: 'status.completed',
  returned: 'status.returned',
  withdrawn: 'status.withdrawn',
})
