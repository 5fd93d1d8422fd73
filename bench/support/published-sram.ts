/**
 * Peak-SRAM figures TinyEngine and the MCUNet papers publish for models in ../shared/models, to set
 * beside ours in `npm run bench -- engine`. The papers' "kB" are KiB (MCUNetV2's 1372 kB for
 * MobileNetV2 is exactly 224x224 at 112x112x16 + 112x112x96 bytes = 1,404,928 B = 1372 KiB). All are
 * int8 activations with int8 I/O (TinyEngine's generated code takes the int8 image), so ours is
 * compared under the int8 I/O convention. Models without an entry have no figure we could find:
 * person_detect (TFLM ships it with a 136 KiB arena setting, a configuration, not a measurement),
 * vww_96_int8 and kws_ref_model (MLPerf Tiny publishes accuracy and latency, not peak SRAM),
 * hello_world and micro_speech (TFLM examples with arena settings only).
 */

/** How a figure was obtained. */
export type ScheduleMode = 'per-layer' | 'patch-based';

export interface PublishedPeak {
  /** Peak SRAM in bytes (KiB x 1024). */
  bytes: number;
  /** The figure as published. */
  published: string;
  /** Where: repository file or paper table/figure. */
  source: string;
}

export const PUBLISHED_PEAK_SRAM: Record<string, Partial<Record<ScheduleMode, PublishedPeak>>> = {
  // The MCUNet model zoo's mcunet-vww1 (mcunet-5fps_vww, 80x80): tinyengine assets/vww.tflite.
  'mcunet_vww1.tflite': {
    'per-layer': {
      bytes: 92 * 1024,
      published: '92 kB',
      source:
        'mit-han-lab/tinyengine README.md, "Measured Results", peak memory (SRAM) table, mcunet-vww1, TinyEngine @ 0363956 on STM32H743 ' +
        '(the MCUNet model zoo, mit-han-lab/mcunet README.md, lists 162 kB for mcunet-5fps-vww with the 2020 TinyEngine on STM32F746)',
    },
  },
  'mobilenet_v2_int8_224.tflite': {
    'per-layer': {
      bytes: 1372 * 1024,
      published: '1372 kB',
      source: 'MCUNetV2 (Lin et al., NeurIPS 2021), Figure 1: MobileNetV2 at 224, int8, per-layer inference',
    },
    'patch-based': {
      bytes: 172 * 1024,
      published: '172 kB',
      source: 'MCUNetV2 (Lin et al., NeurIPS 2021), Figure 1 / Section 3.1: MobileNetV2 at 224, int8, 4x4 patch-based inference of the first blocks',
    },
  },
};
