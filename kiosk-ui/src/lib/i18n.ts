// Screen language: Simplified Chinese by default, English behind a switch; never both on one label.
//
// The kiosk's switch is the resident's choice and the idle wipe resets it (resetKioskLocale); the
// counter, setup page and hub console keep the staff member's choice in localStorage (setStaffLocale).
// Every label lives in the typed table below; t(key) reads the reactive locale, so templates re-render
// when it changes. Messages from the API are Chinese and are shown as they come.

import { ref } from 'vue'

/** A screen language. */
export type Locale = 'zh' | 'en'

const messages = {
  'lang.switch': { zh: 'EN', en: '中' },
  'lang.switchLabel': { zh: 'Switch to English', en: '切换为中文' },
  'lang.setting': { zh: '界面语言：中文', en: 'Language: English' },

  'kiosk.brand': { zh: '社区便民服务站', en: 'Community Service Station' },
  'kiosk.brandSub': { zh: '自助服务', en: 'Self-service' },
  'kiosk.nav': { zh: '导航', en: 'Navigation' },
  'kiosk.back': { zh: '返回', en: 'Back' },
  'kiosk.home': { zh: '首页', en: 'Home' },
  'kiosk.elder': { zh: '长辈模式', en: 'Large text' },
  'kiosk.hello': { zh: '您好，', en: 'Hello, ' },
  'kiosk.verified': { zh: '已通过身份证核验，取走身份证即结束', en: 'verified by ID card; take your card to end the session' },
  'kiosk.welcome': { zh: '欢迎使用自助服务', en: 'Welcome, please choose a service' },
  'kiosk.noCardTitle': { zh: '未放置身份证：', en: 'No ID card: ' },
  'kiosk.noCard': {
    zh: '可查询办事指南、凭办件编号查询进度；放置身份证后可查看本人全部办件、开具证明',
    en: 'guide and progress lookup by number only. Place your ID card to see all your applications and to get certificates.',
  },
  'kiosk.tile.mine': { zh: '我的办件', en: 'My applications' },
  'kiosk.tile.guide': { zh: '办事指南', en: 'Service guide' },
  'kiosk.tile.progress': { zh: '进度查询', en: 'Progress' },
  'kiosk.tile.certificate': { zh: '开具证明', en: 'Certificates' },
  'kiosk.tile.ticket': { zh: '取号', en: 'Take a number' },
  'kiosk.tile.rating': { zh: '评价', en: 'Rate our service' },
  'kiosk.tile.needCard': { zh: '请先刷身份证', en: 'Place your ID card first' },
  'kiosk.tile.soon': { zh: '即将开放', en: 'Coming soon' },

  'mine.title': { zh: '我的办件', en: 'My applications' },
  'mine.loading': { zh: '正在加载…', en: 'Loading…' },
  'mine.empty': { zh: '暂无办件', en: 'No applications' },
  'mine.number': { zh: '办件编号', en: 'Number' },
  'mine.received': { zh: '受理时间', en: 'Received' },
  'mine.due': { zh: '承诺办结', en: 'Due' },
  'mine.timeline': { zh: '办理过程', en: 'Timeline' },
  'mine.fixTitle': { zh: '需要补正', en: 'Correction needed' },
  'mine.fixAt': { zh: '退回时间：', en: 'Returned: ' },
  'mine.fixWhere': { zh: '；请到 {place} 办理补正', en: '; please bring it to {place}' },

  'counter.brand': { zh: '社区便民服务站 · 窗口工作台', en: 'Community Service Station · Counter' },
  'counter.nav': { zh: '主导航', en: 'Main' },
  'counter.work': { zh: '工作台', en: 'Work lists' },
  'counter.intake': { zh: '受理', en: 'Intake' },
  'counter.certs': { zh: '证明', en: 'Certificates' },
  'counter.logout': { zh: '退出', en: 'Log out' },
  'counter.col.number': { zh: '办件编号', en: 'Number' },
  'counter.col.matter': { zh: '事项', en: 'Matter' },
  'counter.col.applicant': { zh: '申请人', en: 'Applicant' },
  'counter.col.status': { zh: '状态', en: 'Status' },
  'counter.col.due': { zh: '承诺办结', en: 'Due' },
  'counter.col.received': { zh: '受理时间', en: 'Received' },

  'worklist.searchLabel': { zh: '按办件编号或姓名搜索', en: 'Search by number or name' },
  'worklist.search': { zh: '搜索', en: 'Search' },
  'worklist.newIntake': { zh: '+ 受理', en: '+ New intake' },
  'worklist.empty': { zh: '暂无办件', en: 'Nothing here' },
  'worklist.pager': { zh: '分页', en: 'Pagination' },
  'worklist.prev': { zh: '上一页', en: 'Prev' },
  'worklist.next': { zh: '下一页', en: 'Next' },
  'worklist.pageInfo': { zh: '第 {page} / {pages} 页 · 共 {total} 件', en: 'Page {page} of {pages} · {total} in all' },
  'stats.label': { zh: '统计', en: 'Statistics' },
  'stats.open': { zh: '在办', en: 'Open' },
  'stats.dueSoon': { zh: '即将到期', en: 'Due soon' },
  'stats.overdue': { zh: '已超期', en: 'Overdue' },
  'stats.onTime': { zh: '按时办结率', en: 'On-time' },
  'sync.label': { zh: '同步状态', en: 'Sync status' },

  'kbd.region': { zh: '屏幕键盘', en: 'On-screen keyboard' },
  'kbd.modes': { zh: '输入方式', en: 'Input mode' },
  'kbd.pinyin': { zh: '拼音', en: 'Pinyin' },
  'kbd.abc': { zh: '英文', en: 'ABC' },
  'kbd.sym': { zh: '123', en: '123' },
  'kbd.symLabel': { zh: '数字和符号', en: 'Numbers and symbols' },
  'kbd.upper': { zh: '大写', en: 'Caps' },
  'kbd.separator': { zh: '音节分隔符', en: 'Syllable break' },
  'kbd.backspace': { zh: '退格', en: 'Backspace' },
  'kbd.space': { zh: '空格', en: 'Space' },
  'kbd.clear': { zh: '清空', en: 'Clear' },
  'kbd.done': { zh: '完成', en: 'Done' },
  'kbd.buffer': { zh: '正在输入的拼音', en: 'Pinyin typed' },
  'kbd.candidates': { zh: '候选字词', en: 'Candidates' },
  'kbd.prev': { zh: '上一页候选字词', en: 'Previous candidates' },
  'kbd.next': { zh: '下一页候选字词', en: 'Next candidates' },
  'kbd.hint': { zh: '输入拼音后点选汉字，空格选第一个', en: 'Type pinyin, then tap a word; Space picks the first' },
  'kbd.loading': { zh: '正在加载词库…', en: 'Loading the dictionary…' },
  'kbd.failed': { zh: '词库加载失败，请改用英文或数字输入', en: 'The dictionary did not load; use ABC or 123' },
  'kbd.none': { zh: '没有对应的字词，请检查拼音', en: 'No match; check the pinyin' },

  'due.immediate': { zh: '即办件，当场办结', en: 'Immediate, done on the spot' },
  'due.none': { zh: '无时限', en: 'No time limit' },

  'hub.reveal.button': { zh: '查看完整证件号', en: 'Show full ID number' },
  'hub.reveal.hide': { zh: '隐藏', en: 'Hide' },
  'hub.reveal.title': { zh: '查看完整证件号码', en: 'Show the full ID number' },
  'hub.reveal.note': {
    zh: '查看将记入审计日志（查看人、办件、原因）。号码显示 {seconds} 秒后自动隐藏。',
    en: 'The reveal is audited (who, which application, the reason). The number hides itself after {seconds} seconds.',
  },
  'hub.reveal.reason': { zh: '查看原因（必填，至少4个字）', en: 'Reason (required, at least 4 characters)' },
  'hub.reveal.reasonShort': { zh: '请填写查看原因，至少4个字', en: 'Please give a reason of at least 4 characters' },
  'hub.reveal.confirm': { zh: '查看', en: 'Show' },
  'hub.reveal.cancel': { zh: '取消', en: 'Cancel' },
  'hub.reveal.shown': { zh: '完整号码，{seconds} 秒后自动隐藏', en: 'full number, hides in {seconds} s' },
} as const satisfies Record<string, Record<Locale, string>>

/** A key of the message table. */
export type MessageKey = keyof typeof messages

/** The current screen language. */
export const locale = ref<Locale>('zh')

/** Returns the label for key in the current language, with {name} placeholders filled from vars. */
export function t(key: MessageKey, vars?: Record<string, string | number>): string {
  let s: string = messages[key][locale.value]
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v))
  return s
}

/** The other language, for a switch button. */
export function toggleLocale(): Locale {
  return locale.value === 'zh' ? 'en' : 'zh'
}

/** Sets the kiosk's language (the resident's choice for this session). */
export function setKioskLocale(l: Locale): void {
  locale.value = l
}

/** Back to Chinese: the kiosk's idle wipe and card removal call it. */
export function resetKioskLocale(): void {
  locale.value = 'zh'
}

const staffKey = 'station.locale'

/** Restores the staff screens' language from localStorage (Chinese when unset or unreadable). */
export function loadStaffLocale(): void {
  try {
    locale.value = window.localStorage.getItem(staffKey) === 'en' ? 'en' : 'zh'
  } catch {
    locale.value = 'zh'
  }
}

/** Sets and remembers the staff screens' language. */
export function setStaffLocale(l: Locale): void {
  locale.value = l
  try {
    window.localStorage.setItem(staffKey, l)
  } catch {
    // Private mode or storage full: the choice holds for this page only.
  }
}
