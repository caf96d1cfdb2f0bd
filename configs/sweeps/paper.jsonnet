// The paper's full grid (Kazemnejad et al., SPEC sections 3-5): every shipped task split x the
// five encodings x 3 seeds on the `paper` preset (t5 family L12 D768, 40k steps of 64): 300 runs,
// for a cluster.
//   lengen sweep slurm configs/sweeps/paper.jsonnet --set partition=<yours> && sbatch runs/sweeps/paper/paper.slurm
// The engine runs on CPUs: a run is roughly a day on a 16-core node (an estimate from the
// throughput in README "Performance", not measured), so
// ask for CPU nodes; set gres when a GPU build is used. The scratchpad study is
// paper_scratchpad.jsonnet.
{
  name: 'paper',
  base: ['models/paper'],
  axes: {
    task: [
      'addition_len_tr8_ts16', 'sum_len_tr8_ts16', 'parity_len_tr8_ts16', 'poly_n_terms_tr8_ts16',
      'sort_len_sngd_tr8_ts16', 'sort_len_mltd_tr8_ts16', 'lego_len_tr8_ts16', 'lego_len_tr8_ts16_perm',
      'copy_rsc_tr20_ts40', 'copy_rsc2x_tr20_ts40', 'copy_rdc_tr20_ts40', 'copy_cmc_tr20_ts40',
      'copy_cmc2x_tr20_ts40', 'reverse_mc_tr20_ts40', 'reverse_mc2x_tr20_ts40', 'reverse_mcrv_tr20_ts40',
      'scan_mdlen_tr25_ts48', 'scan_len_tr25_ts48', 'pcfg_md_productivity', 'pcfg_productivity',
    ],
    pe: ['nope', 't5_bias', 'alibi', 'rotary', 'abs_sin'],
    seed: [0, 1, 2],
  },
  slurm: { time: '48:00:00', cpus_per_task: 16, mem: '32G', max_parallel: 50 },
}
