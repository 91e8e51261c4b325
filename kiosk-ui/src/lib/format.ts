// Display helpers shared by the kiosk and the counter.

import type { Deadline } from '../api'
import { t } from './i18n'

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

export function fmtDate(s: string | null | undefined): string {
  return s ? s : '—'
}


export function fmtFee(cents: number, note: string): string {
  if (!cents) return note || '不收费'
  const yuan = (cents / 100).toFixed(2)
  return note ? `${yuan} 元（${note}）` : `${yuan} 元`
}

export const deadlineLabels: Record<Deadline, string> = {
  ok: '正常',
  due_soon: '即将到期',
  overdue: '已超期',
  none: '—',
}

/**
 * The 承诺办结 cell: the due date, or for an application without one why there is none (an immediate
 * matter is done on the spot; a matter without a time limit has none).
 */
export function fmtDue(due: string | null | undefined, kind?: string): string {
  if (due) return due
  if (kind === undefined) return '—'
  return kind === 'immediate' ? t('due.immediate') : t('due.none')
}

export const kindLabels: Record<string, string> = {
  immediate: '即办件',
  commitment: '承诺件',
}

export const idTypes: { value: string; label: string }[] = [
  { value: 'resident', label: '居民身份证' },
  { value: 'hkmo_permit', label: '港澳居民居住证' },
  { value: 'tw_permit', label: '台湾居民居住证' },
  { value: 'hkmo_pass', label: '港澳居民来往内地通行证' },
  { value: 'tw_pass', label: '台湾居民来往大陆通行证' },
  { value: 'foreign_permanent', label: '外国人永久居留身份证' },
]

export const roleLabels: Record<string, string> = {
  staff: '窗口人员',
  reviewer: '审核人员',
  station_admin: '站点管理员',
  technician: '技术人员',
}

export const actionLabels: Record<string, string> = {
  intake: '受理',
  pre_review: '初审通过',
  return: '退回补正',
  resubmit: '补正提交',
  forward: '转办',
  approve: '批准',
  reject: '不予批准',
  complete: '办结',
  withdraw: '撤回',
}

export const statusLabels: Record<string, string> = {
  received: '已受理',
  pre_reviewed: '已初审',
  forwarded: '已转办',
  approved: '已批准',
  rejected: '未批准',
  completed: '已办结',
  returned: '待补正',
  withdrawn: '已撤回',
}
