//! A digest's charts, drawn as PNG images for the e-mail: bars per day and
//! a line for the period before. E-mail clients show neither SVG nor
//! scripts, and a bitmap without text needs no font on the server; the
//! numbers and labels are the e-mail's own text beside the image.

use plotters::prelude::*;

pub const WIDTH: u32 = 560;
pub const HEIGHT: u32 = 160;

/// The dashboard's accent and the muted grey of comparisons.
const BAR: RGBColor = RGBColor(37, 99, 235);
const BEFORE: RGBColor = RGBColor(148, 163, 184);
const AXIS: RGBColor = RGBColor(226, 232, 240);

/// Why a chart could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the chart cannot be drawn: {0}")]
    Draw(String),
    #[error("the chart cannot be encoded: {0}")]
    Encode(#[from] png::EncodingError),
}

/// `values` as bars, one per day, and `before` (the same days of the
/// period before) as a line over them, as a PNG file.
pub fn bars_against_before(values: &[u64], before: &[u64]) -> Result<Vec<u8>, ChartError> {
    let mut pixels = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let draw = |e: &dyn std::fmt::Display| ChartError::Draw(e.to_string());
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        let days = values.len().max(1);
        let top = values
            .iter()
            .chain(before)
            .copied()
            .max()
            .unwrap_or(0)
            .max(1) as f64
            * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .margin(6)
            .build_cartesian_2d(0f64..days as f64, 0f64..top)
            .map_err(|e| draw(&e))?;
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (days as f64, 0.0)],
                AXIS.stroke_width(2),
            )))
            .map_err(|e| draw(&e))?;
        chart
            .draw_series(values.iter().enumerate().map(|(i, v)| {
                let x = i as f64;
                Rectangle::new([(x + 0.15, 0.0), (x + 0.85, *v as f64)], BAR.filled())
            }))
            .map_err(|e| draw(&e))?;
        if before.iter().any(|v| *v > 0) {
            chart
                .draw_series(LineSeries::new(
                    before
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (i as f64 + 0.5, *v as f64)),
                    BEFORE.stroke_width(3),
                ))
                .map_err(|e| draw(&e))?;
        }
        root.present().map_err(|e| draw(&e))?;
    }
    let mut file = Vec::new();
    let mut encoder = png::Encoder::new(&mut file, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(file: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(file))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        (info, pixels)
    }

    fn has(pixels: &[u8], color: RGBColor) -> bool {
        pixels.chunks(3).any(|p| p == [color.0, color.1, color.2])
    }

    #[test]
    fn a_chart_is_a_png_with_the_bars_and_the_line_of_before() {
        let file = bars_against_before(&[3, 9, 0, 4], &[2, 2, 5, 1]).unwrap();
        assert_eq!(&file[..8], b"\x89PNG\r\n\x1a\n");
        let (info, pixels) = decoded(&file);
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        assert!(has(&pixels, BAR));
        assert!(has(&pixels, BEFORE));
        // The tallest bar reaches near the top, an empty day has none: the
        // column in the middle of day 2 (of 4) stays white above the axis.
        let column = |x: u32| -> Vec<&[u8]> {
            (0..HEIGHT)
                .map(|y| {
                    let i = ((y * WIDTH + x) * 3) as usize;
                    &pixels[i..i + 3]
                })
                .collect()
        };
        let plot = WIDTH - 12;
        let middle_of = |day: u32| 6 + plot * (2 * day + 1) / 8;
        let tall = column(middle_of(1));
        assert!(
            tall[20] == [BAR.0, BAR.1, BAR.2],
            "a 9 reaches the top fifth"
        );
        assert!(
            !column(middle_of(2))
                .iter()
                .any(|p| *p == [BAR.0, BAR.1, BAR.2])
        );
    }

    #[test]
    fn a_period_without_any_figure_is_still_a_chart() {
        let (info, pixels) = decoded(&bars_against_before(&[0; 7], &[]).unwrap());
        assert_eq!(info.width, WIDTH);
        assert!(!has(&pixels, BEFORE));
    }
}
