// sort / len_mltd_tr8_ts16 (SPEC section 3).
{
  data: { task: 'sort', split: 'len_mltd_tr8_ts16' },
}
