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

  'tls.title': { zh: '柜台电脑证书（HTTPS）', en: 'Certificate for counter terminals (HTTPS)' },
  'tls.download': { zh: '下载本站证书', en: 'Download the station certificate' },
  'tls.fingerprint': { zh: 'SHA-256 指纹', en: 'SHA-256 fingerprint' },
  'tls.caNotAfter': { zh: '本站证书有效期至', en: 'Station certificate valid until' },
  'tls.compare': {
    zh: '在柜台电脑上安装为“受信任的根证书颁发机构”前，请核对它显示的 SHA-256 指纹与本机屏幕上（或 station tls show 输出）的一致；不一致时不要安装。',
    en: 'Before installing it on a counter terminal as a trusted root authority, check that the SHA-256 fingerprint it shows matches the one on this box’s own screen (or station tls show). Do not install it if they differ.',
  },
  'tls.counterURL': { zh: '安装后柜台电脑访问', en: 'Counter terminals then open' },
  'tls.names': { zh: '服务器证书包含', en: 'Server certificate names' },
  'tls.notAfter': { zh: '服务器证书有效期至', en: 'Server certificate valid until' },
  'tls.off': { zh: '本站未启用 HTTPS，局域网内的柜台电脑无法访问（配置项 listen-https）。', en: 'HTTPS is off: counter terminals on the LAN cannot reach the station (setting listen-https).' },
  'tls.own': { zh: '本站使用自备证书（配置项 tls-cert），根证书请向该证书的签发方获取。', en: 'The station uses its own certificate files (setting tls-cert); get the root certificate from their issuer.' },

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

  'due.immediate': { zh: '即办件，当场办结', en: 'Immediate, done on the spot' },
  'due.none': { zh: '无时限', en: 'No time limit' },
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
