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

  'common.loading': { zh: '加载中…', en: 'Loading…' },
  'common.yes': { zh: '是', en: 'Yes' },
  'common.no': { zh: '否', en: 'No' },

  'guide.title': { zh: '办事指南', en: 'Service guide' },
  'guide.searchLabel': { zh: '搜索事项', en: 'Search services' },
  'guide.searchHint': { zh: '输入事项名称或拼音首字母，如 dbsq', en: 'Service name or pinyin initials, e.g. dbsq' },
  'guide.clear': { zh: '清除', en: 'Clear' },
  'guide.categories': { zh: '事项分类', en: 'Categories' },
  'guide.all': { zh: '全部', en: 'All' },
  'guide.empty': { zh: '没有找到相关事项', en: 'No matching services' },

  'matter.kind': { zh: '办件类型', en: 'Type' },
  'matter.timeLimit': { zh: '办理时限', en: 'Time limit' },
  'matter.onTheSpot': { zh: '当场办结', en: 'Done on the spot' },
  'matter.workingDays': { zh: '{n} 个工作日', en: '{n} working days' },
  'matter.fee': { zh: '收费标准', en: 'Fee' },
  'matter.department': { zh: '承办部门', en: 'Department' },
  'matter.location': { zh: '办理地点', en: 'Where to go' },
  'matter.askStaff': { zh: '请咨询窗口工作人员', en: 'Please ask at the counter' },
  'matter.certificate': { zh: '出具证件', en: 'Certificate issued' },
  'matter.materials': { zh: '申请材料', en: 'Materials to bring' },
  'matter.noMaterials': { zh: '无需提交材料', en: 'No materials needed' },
  'matter.required': { zh: '必需', en: 'Required' },
  'matter.optional': { zh: '可选', en: 'Optional' },
  'matter.conditions': { zh: '办理条件', en: 'Who can apply' },
  'matter.noConditions': { zh: '无特殊条件', en: 'No special conditions' },

  'fee.free': { zh: '不收费', en: 'Free' },
  'fee.yuan': { zh: '{yuan} 元', en: 'CNY {yuan}' },
  'fee.withNote': { zh: '{yuan} 元（{note}）', en: 'CNY {yuan} ({note})' },
  'deadline.ok': { zh: '正常', en: 'On time' },
  'deadline.due_soon': { zh: '即将到期', en: 'Due soon' },
  'deadline.overdue': { zh: '已超期', en: 'Overdue' },
  'deadline.none': { zh: '—', en: '—' },
  'kind.immediate': { zh: '即办件', en: 'Immediate' },
  'kind.commitment': { zh: '承诺件', en: 'Within a time limit' },
  'idtype.resident': { zh: '居民身份证', en: 'Resident ID card' },
  'idtype.hkmo_permit': { zh: '港澳居民居住证', en: 'Residence permit (Hong Kong, Macao)' },
  'idtype.tw_permit': { zh: '台湾居民居住证', en: 'Residence permit (Taiwan)' },
  'idtype.hkmo_pass': { zh: '港澳居民来往内地通行证', en: 'Mainland travel permit (Hong Kong, Macao)' },
  'idtype.tw_pass': { zh: '台湾居民来往大陆通行证', en: 'Mainland travel permit (Taiwan)' },
  'idtype.foreign_permanent': { zh: '外国人永久居留身份证', en: 'Foreign permanent resident ID card' },
  'role.staff': { zh: '窗口人员', en: 'Counter staff' },
  'role.reviewer': { zh: '审核人员', en: 'Reviewer' },
  'role.station_admin': { zh: '站点管理员', en: 'Station admin' },
  'role.technician': { zh: '技术人员', en: 'Technician' },
  'action.intake': { zh: '受理', en: 'Intake' },
  'action.pre_review': { zh: '初审通过', en: 'Pre-review passed' },
  'action.return': { zh: '退回补正', en: 'Return for correction' },
  'action.resubmit': { zh: '补正提交', en: 'Resubmit' },
  'action.forward': { zh: '转办', en: 'Forward' },
  'action.approve': { zh: '批准', en: 'Approve' },
  'action.reject': { zh: '不予批准', en: 'Reject' },
  'action.complete': { zh: '办结', en: 'Complete' },
  'action.withdraw': { zh: '撤回', en: 'Withdraw' },
  'status.received': { zh: '已受理', en: 'Received' },
  'status.pre_reviewed': { zh: '已初审', en: 'Pre-reviewed' },
  'status.forwarded': { zh: '已转办', en: 'Forwarded' },
  'status.approved': { zh: '已批准', en: 'Approved' },
  'status.rejected': { zh: '未批准', en: 'Rejected' },
  'status.completed': { zh: '已办结', en: 'Completed' },
  'status.returned': { zh: '待补正', en: 'Awaiting correction' },
  'status.withdrawn': { zh: '已撤回', en: 'Withdrawn' },

  'rating.3': { zh: '满意', en: 'Satisfied' },
  'rating.2': { zh: '基本满意', en: 'Mostly satisfied' },
  'rating.1': { zh: '不满意', en: 'Not satisfied' },
  'certcat.livelihood': { zh: '民生', en: 'Livelihood' },
  'certcat.family_planning': { zh: '计生', en: 'Family planning' },
  'certcat.labour': { zh: '劳动保障', en: 'Labour' },
  'certcat.judicial': { zh: '司法', en: 'Judicial' },
  'certcat.political_review': { zh: '政审', en: 'Background check' },
  'certcat.housing': { zh: '房屋', en: 'Housing' },
  'certcat.other': { zh: '其他', en: 'Other' },
  'certstatus.awaiting_approval': { zh: '待部门核实', en: 'Awaiting department' },
  'certstatus.pending_print': { zh: '待打印', en: 'To print' },
  'certstatus.issued': { zh: '已出具', en: 'Issued' },
  'certstatus.voided': { zh: '已作废', en: 'Voided' },
  'certstatus.revoked': { zh: '已撤销', en: 'Revoked' },
  'certin.required': { zh: '请填写{label}', en: 'Please fill in {label}' },
  'certin.tooLong': { zh: '{label}最多{n}个字', en: '{label}: at most {n} characters' },
  'certin.control': { zh: '{label}不能包含换行或控制字符', en: '{label}: no line breaks or control characters' },

  'progress.title': { zh: '进度查询', en: 'Check progress' },
  'progress.number': { zh: '办件编号', en: 'Application number' },
  'progress.numberHint': { zh: '如 SQ20261124-0003', en: 'e.g. SQ20261124-0003' },
  'progress.last4': { zh: '证件号码后四位', en: 'Last 4 of ID number' },
  'progress.last4Hint': { zh: '如 4514', en: 'e.g. 4514' },
  'progress.needNumber': { zh: '请输入办件编号', en: 'Please enter the application number' },
  'progress.needLast4': { zh: '请输入证件号码后四位（数字或X）', en: 'Please enter the last 4 characters of the ID number (digits or X)' },
  'progress.keypadNumber': { zh: '屏幕键盘：输入办件编号', en: 'Keypad: application number' },
  'progress.keypadLast4': { zh: '屏幕键盘：输入证件号码后四位', en: 'Keypad: last 4 of ID number' },
  'progress.backspace': { zh: '删除一位', en: 'Backspace' },
  'progress.clearField': { zh: '清空', en: 'Clear' },
  'progress.searching': { zh: '查询中…', en: 'Searching…' },
  'progress.submit': { zh: '查询', en: 'Search' },
  'progress.matter': { zh: '办理事项', en: 'Service' },
  'progress.applicant': { zh: '申请人', en: 'Applicant' },
  'progress.received': { zh: '受理时间', en: 'Received' },
  'progress.due': { zh: '承诺办结日期', en: 'Due date' },
  'progress.deadline': { zh: '时限状态', en: 'Deadline' },
  'progress.timeline': { zh: '办理进程', en: 'Timeline' },
  'progress.again': { zh: '查询其他办件', en: 'Search another' },

  'defer.title': { zh: '需补交材料', en: 'Materials still to bring' },
  'defer.before': { zh: '（容缺受理）：请于 ', en: ' (accepted with missing materials): please bring them to the station counter by ' },
  'defer.after': { zh: ' 前到服务站窗口补交', en: '' },
  'defer.sep': { zh: '，', en: '; ' },
  'defer.overdue': { zh: '已超过补交期限', en: 'the time to bring them has passed' },
  'defer.done': { zh: '容缺材料已全部补交。', en: 'All missing materials have been brought.' },
  'notices.title': { zh: '通知公告', en: 'Notices' },
  'sim.title': { zh: '模拟设备', en: 'Simulator' },
  'sim.place': { zh: '放卡', en: 'Place' },
  'sim.remove': { zh: '取卡', en: 'Remove' },

  'certs.title': { zh: '开具证明', en: 'Certificates' },
  'certs.needCard': { zh: '请先刷身份证', en: 'Please place your ID card first' },
  'certs.needCard1': {
    zh: '开具证明需要核验本人身份：请将本人居民身份证放在读卡区，读卡成功后即可选择证明。',
    en: 'A certificate needs your identity checked: place your own resident ID card on the reader, then choose a certificate.',
  },
  'certs.needCard2': {
    zh: '手工输入证件号码不能开具证明。没有带身份证的，请到柜台由工作人员核实身份后办理。',
    en: 'A typed ID number is not enough. Without your card, please ask at the counter, where staff check your identity.',
  },
  'certs.lead': { zh: '请选择要开具的证明。选择后系统会先核对您是否符合开具条件。', en: 'Choose a certificate. The station first checks that it can be issued to you.' },
  'certs.categories': { zh: '证明分类', en: 'Categories' },
  'certs.needsDept': { zh: '需部门核实', en: 'Department check' },
  'certs.empty': { zh: '暂无可开具的证明', en: 'No certificates available' },

  'cert.someDept': { zh: '相关部门', en: 'the department' },
  'cert.notFound': { zh: '没有找到该证明，或该证明已停止开具', en: 'This certificate was not found or is no longer issued' },
  'cert.checking': { zh: '正在核对开具条件…', en: 'Checking…' },
  'cert.unavailable': { zh: '暂时无法办理', en: 'Not available right now' },
  'cert.back': { zh: '返回', en: 'Back' },
  'cert.denied': { zh: '暂不能为您开具此证明', en: 'This certificate cannot be issued to you here' },
  'cert.deniedLead': { zh: '原因及您可以怎么办：', en: 'The reasons and what you can do instead:' },
  'cert.youCan': { zh: '您可以：', en: 'You can: ' },
  'cert.notEligible': { zh: '不符合开具条件。', en: 'The conditions are not met.' },
  'cert.askCounter': { zh: '请到柜台咨询工作人员。', en: 'Please ask at the counter.' },
  'cert.eligible': { zh: '符合开具条件', en: 'You can get this certificate' },
  'cert.validity': { zh: '有效期：自开具之日起 {n} 日', en: 'Valid for {n} days from the issue date' },
  'cert.deptNeeded': { zh: '此证明需要{dept}核实。', en: 'This certificate needs a check by {dept}.' },
  'cert.deptNote': {
    zh: '提交后将转为办件（生成办件编号），经工作人员初审后转{dept}核实；核实通过后到柜台领取证明，可在“我的办件”查看进度。',
    en: 'It becomes an application with a number; staff review it and forward it to {dept}. Once checked, collect the certificate at the counter. Follow it in “My applications”.',
  },
  'cert.optional': { zh: '（选填）', en: ' (optional)' },
  'cert.maxLen': { zh: '最多 {n} 字', en: 'up to {n} characters' },
  'cert.enter': { zh: '请输入{label}', en: 'Enter {label}' },
  'cert.choices': { zh: '{label}常用选项', en: 'Common choices: {label}' },
  'cert.wait': { zh: '请稍候…', en: 'Please wait…' },
  'cert.submitDept': { zh: '提交核实申请', en: 'Submit for checking' },
  'cert.preview': { zh: '生成预览', en: 'Preview' },
  'cert.checkContent': { zh: '请核对证明内容', en: 'Please check the certificate' },
  'cert.checkLead': {
    zh: '确认无误后点击“确认打印”。证明编号在打印时生成，证明在打印机出纸成功后才算开具。',
    en: 'If all is right, tap “Print”. The number is given at printing; the certificate is issued once the printer confirms.',
  },
  'cert.previewAlt': { zh: '证明预览：{name}，编号{serial}，{subject}', en: 'Certificate preview: {name}, number {serial}, {subject}' },
  'cert.serialAtPrint': { zh: '打印时生成', en: 'given at printing' },
  'cert.previewFailed': { zh: '预览图加载失败。', en: 'The preview did not load.' },
  'cert.reload': { zh: '重新加载', en: 'Reload' },
  'cert.serialLabel': { zh: '编号', en: 'Number' },
  'cert.noPrint': { zh: '不打印，返回', en: 'Do not print, go back' },
  'cert.print': { zh: '确认打印', en: 'Print' },
  'cert.printing': { zh: '正在打印，请稍候…', en: 'Printing, please wait…' },
  'cert.printingWait': { zh: '请不要离开，打印完成后请取走证明', en: 'Please stay and take the certificate when it is printed' },
  'cert.printFailed': { zh: '打印未成功', en: 'Printing failed' },
  'cert.printFailedLead': {
    zh: '本次未出具证明，也不计入次数。请工作人员处理打印机后点击“重试”。',
    en: 'No certificate was issued and nothing was counted. Please ask staff to check the printer, then tap “Retry”.',
  },
  'cert.home': { zh: '返回首页', en: 'Home' },
  'cert.retry': { zh: '重试', en: 'Retry' },
  'cert.done': { zh: '证明已打印，请取走', en: 'Printed: please take your certificate' },
  'cert.serial': { zh: '证明编号', en: 'Certificate number' },
  'cert.name': { zh: '证明名称', en: 'Certificate' },
  'cert.subject': { zh: '姓名', en: 'Name' },
  'cert.issueDate': { zh: '开具日期', en: 'Issued on' },
  'cert.validUntil': { zh: '有效期至', en: 'Valid until' },
  'cert.qr': { zh: '证明上的二维码可供单位扫码核验真伪。', en: 'The QR code on the certificate lets the receiver check it is genuine.' },
  'cert.rateQ': { zh: '您对本次服务满意吗？', en: 'How was our service?' },
  'cert.thanks': { zh: '感谢您的评价！', en: 'Thank you!' },
  'cert.more': { zh: '开具其他证明', en: 'Another certificate' },
  'cert.submitted': { zh: '已转为办件，等待部门核实', en: 'Submitted as an application for the department to check' },
  'cert.submittedLead': {
    zh: '此证明需要{dept}核实。已为您生成办件，工作人员初审后转{dept}核实；核实通过后由工作人员打印证明，届时请到服务站柜台领取。',
    en: 'This certificate needs a check by {dept}. An application was made for you; staff review it and forward it to {dept}. Once checked, staff print the certificate: collect it at the station counter.',
  },
  'cert.whereProgress': { zh: '可在“我的办件”或“进度查询”中查看办理进度。', en: 'Follow it in “My applications” or “Check progress”.' },
  // @kiosk-end

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
  // @staff-end

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

/**
 * A code → label map whose values read the current language: map[code] is t(keys[code]), undefined for
 * an unknown code (so `map[code] ?? code` shows the code). Templates that read it re-render on a switch.
 */
export function labelMap<K extends string>(keys: Record<K, MessageKey>): Record<K, string> {
  const o = {} as Record<K, string>
  for (const k of Object.keys(keys) as K[]) Object.defineProperty(o, k, { get: () => t(keys[k]), enumerable: true })
  return o
}
