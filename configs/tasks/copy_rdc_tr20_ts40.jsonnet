// copy / rdc_tr20_ts40 (SPEC section 3).
{
  data: { task: 'copy', split: 'rdc_tr20_ts40' },
}
