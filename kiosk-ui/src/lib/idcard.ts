// Chinese resident ID number (GB 11643-1999) validation.

const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const checkChars = '10X98765432'

/** Computes the check character for the first 17 digits of an 18-character ID number. */
export function checkDigit(first17: string): string {
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * weights[i]
  return checkChars[sum % 11]
}

/**
 * Normalizes a typed document number as the station does (station.NormalizeIDNumber): white space
 * anywhere is dropped, full-width letters and digits become ASCII, letters are upper-cased.
 */
export function normalizeIdNumber(raw: string): string {
  return raw
    .replace(/\s/gu, '')
    .replace(/[\uFF01-\uFF5E]/gu, (c) => String.fromCharCode(c.charCodeAt(0) - 0xff01 + 0x21))
    .toUpperCase()
}

/** Reports whether a 6-digit prefix has the shape of a mainland administrative division code. */
function residentRegion(prefix: string): boolean {
  if (!/^\d{6}$/.test(prefix) || prefix.slice(2) === '0000') return false
  const p = Number(prefix.slice(0, 2))
  return (
    (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) ||
    (p >= 41 && p <= 46) || (p >= 50 && p <= 54) || (p >= 61 && p <= 65)
  )
}

/**
 * Validates a typed 18-character resident ID number with the station's rules and messages
 * (station/identity.go; both are held to station/testdata/idnumber_messages.json). Returns a
 * Chinese message saying what is wrong with what was typed, or '' when the number is valid.
 */
export function validateResidentId(raw: string): string {
  const id = normalizeIdNumber(raw)
  if (id === '') return '请输入居民身份证号码'
  const chars = [...id]
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]
    if (/^[0-9]$/.test(c) || (c === 'X' && (i === 17 || i === chars.length - 1))) continue
    const shown = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(c) ? `“${c}”` : '是无法显示的字符，'
    if (i === 17) return `身份证号码第 18 位${shown}应为数字或 X`
    return `身份证号码第 ${i + 1} 位${shown}不是数字`
  }
  if (chars.length !== 18) return `身份证号码应为 18 位，您输入了 ${chars.length} 位`
  if (!residentRegion(id.slice(0, 6))) return '身份证号码前 6 位地区码不正确'
  const y = Number(id.slice(6, 10))
  const m = Number(id.slice(10, 12))
  const d = Number(id.slice(12, 14))
  const date = new Date(Date.UTC(y, m - 1, d))
  if (
    y < 1900 ||
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== m - 1 ||
    date.getUTCDate() !== d ||
    date.getTime() > Date.now()
  ) {
    return '身份证号码中的出生日期不存在'
  }
  if (checkDigit(id.slice(0, 17)) !== id[17]) return '身份证号码校验位错误，请核对后重新输入'
  return ''
}

// The station's phone number rule (station.ValidatePhone in station/text.go): a mainland mobile number,
// or a landline with its area code and an optional extension.
const mobilePattern = /^(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}$/
const landlinePattern =
  /^(?:(?:\(0(?:10|2\d)\)|0(?:10|2\d))[ -]?[2-9]\d{7}|(?:\(0[3-9]\d{2}\)|0[3-9]\d{2})[ -]?[2-9]\d{6,7})(?:(?:-|转|#|分机)\d{1,6})?$/

/** Validates a contact phone number as the station does; returns the station's message, or '' when valid (or empty). */
export function validatePhone(raw: string): string {
  const p = raw.trim()
  if (p === '' || mobilePattern.test(p) || landlinePattern.test(p)) return ''
  return '联系电话格式不正确：应为11位手机号码（如13800001234），或带区号的固定电话（如010-62345678，分机号写在“-”或“转”之后）'
}

/** Masks an ID number for display: keeps the first 4 and last 4 characters. */
export function maskId(id: string): string {
  if (id.length <= 8) return '*'.repeat(id.length)
  return id.slice(0, 4) + '*'.repeat(id.length - 8) + id.slice(-4)
}

/** Masks a phone number: keeps the first 3 and last 4 digits. */
export function maskPhone(p: string): string {
  if (p.length < 8) return p ? '*'.repeat(p.length) : ''
  return p.slice(0, 3) + '*'.repeat(p.length - 7) + p.slice(-4)
}

/** Masks a person's name for lists: keeps the first character (张三丰 → 张**). Already masked names are kept. */
export function maskName(name: string): string {
  const chars = [...(name ?? '')]
  if (chars.length <= 1) return chars.join('')
  return chars[0] + '*'.repeat(chars.length - 1)
}
