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
 * Validates an 18-character resident ID number. Returns a Chinese error message,
 * or '' when the number is valid.
 */
export function validateResidentId(raw: string): string {
  const id = raw.trim().toUpperCase()
  if (id === '') return '请输入身份证号码'
  if (id.length !== 18) return `身份证号码应为18位（当前${id.length}位）`
  if (!/^\d{17}[\dX]$/.test(id)) return '身份证号码格式错误：前17位须为数字，最后一位为数字或X'
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
    return '身份证号码中的出生日期无效'
  }
  if (checkDigit(id.slice(0, 17)) !== id[17]) return '身份证号码校验位错误，请核对后重新输入'
  return ''
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
