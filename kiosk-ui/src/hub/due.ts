// How a hub due date was counted, for a clerk: 暂定 when it reaches into a year whose 放假调休 notice
// is not out yet (the console says which years), 约 when a year had no calendar at all.

import { t } from '../lib/i18n'
import type { CalendarYear, HubApplication } from './api'

/** The provisional years a due date was counted on, as 2027年 (or 2027 in English), joined. */
function years(a: HubApplication): string {
  return (a.due_provisional_years ?? []).map((y) => t('hub.due.year', { y })).join(t('setup.listSep'))
}

/** 'provisional', 'estimate' (Monday to Friday) or '' for a due date on the official calendar. */
export function dueMark(a: HubApplication): 'provisional' | 'estimate' | '' {
  if (!a.due_date) return ''
  if (a.due_calendar === 'provisional') return 'provisional'
  if (a.due_calendar === 'weekdays' || (!a.due_calendar && a.due_estimate)) return 'estimate'
  return ''
}

/** The note that explains the mark: （2027年放假安排未正式公布，按暂定日历计算）. */
export function dueNote(a: HubApplication): string {
  switch (dueMark(a)) {
    case 'provisional':
      return t('hub.due.provisionalNote', { years: years(a) })
    case 'estimate':
      return t('hub.due.estimateNote')
  }
  return ''
}

/** The note under a list for the mark: 暂定：2027年放假安排未正式公布，按暂定日历计算. */
export function dueFootnote(a: HubApplication): string {
  switch (dueMark(a)) {
    case 'provisional':
      return t('hub.due.provisionalFoot', { years: years(a) })
    case 'estimate':
      return t('hub.due.estimateFoot')
  }
  return ''
}

/** The calendar's status by year, as a clerk reads it: 2026年 正式公布 · 2027年 暂定（…）. */
export function calendarLine(cal: CalendarYear[]): string {
  return cal
    .map((c) => t(c.status === 'official' ? 'hub.cal.official' : 'hub.cal.provisional', { y: c.year }))
    .join(t('hub.cal.sep'))
}
