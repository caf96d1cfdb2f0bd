// copy / cmc_tr20_ts40 (SPEC section 3).
{
  data: { task: 'copy', split: 'cmc_tr20_ts40' },
}
