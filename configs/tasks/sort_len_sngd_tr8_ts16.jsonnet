// sort / len_sngd_tr8_ts16 (SPEC section 3).
{
  data: { task: 'sort', split: 'len_sngd_tr8_ts16' },
}
