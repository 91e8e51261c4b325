// Words residents type at a community service station that a general word list lacks or ranks low
// (offices, documents, benefits). They come before dictionary words of the same pinyin, like the
// matter and department names the kiosk adds from the catalog.

/** The station's own vocabulary for the on-screen keyboard's candidates. */
export const stationVocabulary: readonly string[] = [
  '教育局', '民政局', '公安局', '派出所', '人社局', '人力资源和社会保障局', '医保局', '卫健委', '住建局',
  '市场监管局', '税务局', '退役军人事务局', '残联', '妇联', '工会', '街道办事处', '社区居委会', '居委会',
  '村委会', '社保中心', '医保中心', '公积金中心', '政务服务中心', '不动产登记中心', '人才交流中心',
  '幼儿园', '小学', '中学', '学校', '医院', '银行', '公司', '单位', '人民法院', '人民检察院', '律师事务所',
  '居住证', '居住证明', '身份证', '户口本', '户口簿', '结婚证', '离婚证', '出生证明', '营业执照', '房产证',
  '无犯罪记录', '低保', '特困', '临时救助', '养老金', '退休', '高龄津贴', '残疾证', '医疗保险', '养老保险',
  '公积金提取', '子女入学', '就业登记', '失业登记', '独生子女', '计划生育', '困难证明', '收入证明',
]
