-- Hand-made DuckDB reference of kume's indicator stage on the raw SGK employment files, for
-- the speed benchmark (bench/duckdb_reference.py runs it). It reads the CSVs as shipped, does
-- what kume's reader and validation do to them (tasks/ingest.py, expectations/sgk_employment.json),
-- splits facts from published totals as tasks/sector_facts.py:sgk_tables does, and computes the
-- indicators as tasks/indicators.py:compute_indicators does with its defaults (universe = all
-- manufacturing, published totals preferred over sums).
--
-- Placeholders, substituted by the runner (paths with quotes doubled):
--   $sources       folder of the SGK files (*.csv: province x class x year, plus the national totals)
--   $reference     kume's data/reference folder (provinces, aliases, NACE Rev.2 section C)
--   $growth_years  the CAGR / shift-share span (kume's primary span, 5)
--
-- Layout assumed, as the shipped files and the real SGK exports have it: ';'-separated UTF-8
-- text with a header on the first line (Yıl; İl Kodu; İl; NACE Kodu; [Faaliyet;] İşyeri Sayısı;
-- Sigortalı Sayısı). kume also sniffs the separator, the encoding (Windows-1254) and the header
-- row and accepts header aliases; this script does not.

-- kume's fold_key: Turkish lower case (I -> ı, İ -> i), Turkish letters and accents folded to
-- ASCII, only letters and digits kept. 'TÜRKİYE', 'K.Maraş' -> 'turkiye', 'kmaras'.
CREATE OR REPLACE TEMP MACRO fold_key(t) AS regexp_replace(
    strip_accents(translate(lower(replace(replace(nfc_normalize(t), 'I', 'ı'), 'İ', 'i')), 'ığüşöçâîû', 'igusocaiu')),
    '[^a-zA-Z0-9]', '', 'g');

-- kume's parse_numbers: blanks, currency signs and 'TL' removed; with a decimal comma the dots
-- are thousands ('1.250' = 1250), with a decimal point the commas are. Unparseable -> NULL
-- (quarantined by the caller's WHERE, as kume's validation does). NaN is null, as in pandas.
CREATE OR REPLACE TEMP MACRO parse_number(t, dec) AS nullif(
    TRY_CAST(CASE WHEN dec = ','
                  THEN replace(replace(regexp_replace(t, '[\s₺$]|TL', '', 'g'), '.', ''), ',', '.')
                  ELSE replace(regexp_replace(t, '[\s₺$]|TL', '', 'g'), ',', '') END AS DOUBLE),
    'NaN'::DOUBLE);

-- kume's normalize_nace, class part: '2893', '28.93', '28.93.01', '289301', 'C2893', '2893.0'
-- (a number that went through Excel) -> '28.93'; 'C' stays the manufacturing total; else NULL.
CREATE OR REPLACE TEMP MACRO nace_text(t) AS regexp_replace(upper(replace(trim(t), ' ', '')), '^(\d+)\.0$', '\1');
CREATE OR REPLACE TEMP MACRO nace_class(c) AS CASE
    WHEN c = 'C' THEN 'C'
    WHEN regexp_full_match(c, '[A-Z]?\d{2}\.?\d{2}(\.?\d{2})?')
        THEN regexp_extract(c, '^[A-Z]?(\d{2})\.?(\d{2})', 1) || '.' || regexp_extract(c, '^[A-Z]?(\d{2})\.?(\d{2})', 2)
END;

CREATE OR REPLACE TEMP MACRO safe_ratio(n, d) AS CASE WHEN d > 0 THEN n / d END;

-- CAGR = (end / start)^(1/k) - 1; null when start <= 0 or missing (kume's cagr).
CREATE OR REPLACE TEMP MACRO cagr(v_end, v_start, k) AS
    CASE WHEN safe_ratio(v_end, v_start) >= 0 THEN pow(safe_ratio(v_end, v_start), 1.0::DOUBLE / k) - 1.0 END;

WITH
raw AS (
    SELECT filename,
           "Yıl" AS year_text,
           -- the plate code column when filled, else the province name (kume's normalize_sgk)
           coalesce(nullif(trim("İl Kodu"), ''), "İl") AS province_text,
           "NACE Kodu" AS nace_raw,
           "İşyeri Sayısı" AS establishments_text, "Sigortalı Sayısı" AS employment_text
    FROM read_csv('$sources/*.csv', delim = ';', quote = '"', header = true, all_varchar = true,
                  union_by_name = true, filename = true)
),
-- kume's detect_decimal, per file: '12,5' / '1.250,50' vote for a decimal comma, '12.5' /
-- '1,250.50' for a decimal point; whole numbers ('1.250' is ambiguous) keep the convention of
-- a ';' file, the decimal comma. Only values with a ',' or '.' can vote.
decimal_votes AS (
    SELECT filename,
           CASE WHEN count_if(regexp_full_match(v, '-?[\d,]*\d\.(\d{1,2}|\d{4,})'))
                   > count_if(regexp_full_match(v, '-?[\d.]*\d,\d+')) THEN '.' ELSE ',' END AS dec
    FROM (SELECT filename, trim(v) AS v
          FROM (SELECT filename, unnest([establishments_text, employment_text]) AS v FROM raw))
    WHERE contains(v, ',') OR contains(v, '.')
    GROUP BY filename
),
-- Province key -> plate code as kume's Reference.province_index builds it: Turkish and English
-- names, the plate code with and without its leading zero, then the aliases ('Türkiye',
-- 'Toplam' -> 0 = the national rows); a later entry wins, as in the Python dict.
provinces AS (
    SELECT * FROM read_csv('$reference/tr_provinces.csv', header = true, types = {'plate_code': 'INTEGER'})
),
province_keys AS (
    SELECT key, arg_max(plate_code, priority) AS plate_code
    FROM (
        SELECT fold_key(name_tr) AS key, plate_code, plate_code * 4 AS priority FROM provinces
        UNION ALL SELECT fold_key(name_eng), plate_code, plate_code * 4 + 1 FROM provinces
        UNION ALL SELECT plate_code::VARCHAR, plate_code, plate_code * 4 + 2 FROM provinces
        UNION ALL SELECT lpad(plate_code::VARCHAR, 2, '0'), plate_code, plate_code * 4 + 3 FROM provinces
        UNION ALL
        SELECT fold_key(alias), plate_code, 1000 + row_number() OVER ()
        FROM read_csv('$reference/province_aliases.csv', header = true, types = {'plate_code': 'INTEGER'})
    )
    GROUP BY key
),
-- Folding and pattern matching once per distinct spelling, not once per row.
province_of AS (
    SELECT s.province_text, k.plate_code
    FROM (SELECT DISTINCT province_text FROM raw) s
    LEFT JOIN province_keys k ON k.key = fold_key(s.province_text)
),
classes AS (
    SELECT code AS nace_class
    FROM read_csv('$reference/nace_rev2_section_c.csv', header = true, all_varchar = true)
    WHERE level = 'class'
),
class_of AS (
    SELECT nace_raw, nace_class(nace_text(nace_raw)) AS nace_class FROM (SELECT DISTINCT nace_raw FROM raw)
),
normalised AS MATERIALIZED (
    SELECT TRY_CAST(trim(r.year_text) AS INTEGER) AS year,
           p.plate_code,
           c.nace_class,
           parse_number(r.establishments_text, coalesce(d.dec, ',')) AS establishments,
           parse_number(r.employment_text, coalesce(d.dec, ',')) AS employment
    FROM raw r
    LEFT JOIN decimal_votes d USING (filename)
    LEFT JOIN province_of p USING (province_text)
    LEFT JOIN class_of c USING (nace_raw)
),
-- The rows kume's validation accepts (expectations/sgk_employment.json); a row failing any
-- rule is quarantined whole.
accepted AS (
    SELECT * FROM normalised
    WHERE year BETWEEN 1990 AND 2100
      AND plate_code IS NOT NULL
      AND (nace_class = 'C' OR nace_class IN (SELECT nace_class FROM classes))
      AND employment BETWEEN 0 AND 5000000
      AND establishments >= 0
),
-- sgk_tables: province rows of a class are facts (several national codes of one class add up);
-- province rows of 'C' are published region totals; plate 0 ('Türkiye') rows are the published
-- national totals, 'C' being the national total of the universe.
facts AS (
    SELECT plate_code AS region_code, nace_class AS sector_code, year,
           sum(employment) AS employment, sum(establishments) AS establishments
    FROM accepted WHERE plate_code <> 0 AND nace_class <> 'C'
    GROUP BY ALL
),
published_region AS (
    SELECT plate_code AS region_code, year, sum(employment) AS employment, sum(establishments) AS establishments
    FROM accepted WHERE plate_code <> 0 AND nace_class = 'C'
    GROUP BY ALL
),
published_sector AS (
    SELECT nace_class AS sector_code, year, sum(employment) AS employment, sum(establishments) AS establishments
    FROM accepted WHERE plate_code = 0 AND nace_class <> 'C'
    GROUP BY ALL
),
published_universe AS (
    SELECT year, sum(employment) AS employment, sum(establishments) AS establishments
    FROM accepted WHERE plate_code = 0 AND nace_class = 'C'
    GROUP BY ALL
),
-- Totals: a published value where given, the sum only where it is absent (methodology §1;
-- kume's _prefer_published, measure by measure).
region_totals AS (
    SELECT f.region_code, f.year,
           coalesce(any_value(p.employment), sum(f.employment)) AS region_employment,
           coalesce(any_value(p.establishments), sum(f.establishments)) AS region_establishments
    FROM facts f LEFT JOIN published_region p USING (region_code, year)
    GROUP BY f.region_code, f.year
),
summed_sector AS (
    SELECT sector_code, year, sum(employment) AS employment, sum(establishments) AS establishments
    FROM facts GROUP BY ALL
),
-- Outer join, as in kume: a sector published but absent from the provinces still counts in a
-- summed national total.
national_sector AS (
    SELECT coalesce(s.sector_code, p.sector_code) AS sector_code, coalesce(s.year, p.year) AS year,
           coalesce(p.employment, s.employment) AS national_sector_employment,
           coalesce(p.establishments, s.establishments) AS national_sector_establishments
    FROM summed_sector s FULL JOIN published_sector p USING (sector_code, year)
),
national_totals AS (
    SELECT coalesce(s.year, p.year) AS year,
           coalesce(p.employment, s.employment) AS national_employment,
           coalesce(p.establishments, s.establishments) AS national_establishments
    FROM (SELECT year, sum(national_sector_employment) AS employment,
                 sum(national_sector_establishments) AS establishments
          FROM national_sector GROUP BY year) s
    FULL JOIN published_universe p USING (year)
),
base AS (
    SELECT f.*, r.region_employment, r.region_establishments,
           n.national_sector_employment, n.national_sector_establishments,
           t.national_employment, t.national_establishments
    FROM facts f
    LEFT JOIN region_totals r USING (region_code, year)
    LEFT JOIN national_sector n USING (sector_code, year)
    LEFT JOIN national_totals t USING (year)
),
indicators AS (
    SELECT b.*,
           -- LQ = (e / E_r) / (E_s / E_n), the two shares computed first as kume does, so the
           -- floating-point result is the same; null when any base is missing, zero or negative.
           safe_ratio(safe_ratio(b.employment, b.region_employment),
                      safe_ratio(b.national_sector_employment, b.national_employment)) AS lq_employment,
           safe_ratio(safe_ratio(b.establishments, b.region_establishments),
                      safe_ratio(b.national_sector_establishments, b.national_establishments)) AS lq_establishments,
           safe_ratio(b.employment, b.region_employment) AS focus,
           safe_ratio(b.employment, b.national_sector_employment) AS national_share,
           safe_ratio(b.employment, b.establishments) AS avg_firm_size,
           $growth_years AS growth_years,
           -- Growth reads the same region x class row k years earlier (kume's _lagged): with no
           -- such row, the CAGRs and the shift-share are all null ("no value k years earlier"),
           -- the national sector CAGR included.
           cagr(b.employment, b0.employment, $growth_years) AS employment_cagr,
           cagr(b.national_sector_employment, b0.national_sector_employment, $growth_years)
               AS national_sector_employment_cagr,
           -- Dunn shift-share, e0 = e(t-k), n = E_s, N = E_n: NS = e0 (N1/N0 - 1),
           -- IM = e0 (n1/n0 - N1/N0), RS = e1 - e0 n1/n0; NS + IM + RS = e1 - e0.
           b0.employment * (safe_ratio(b.national_employment, b0.national_employment) - 1.0) AS shift_national,
           b0.employment * (safe_ratio(b.national_sector_employment, b0.national_sector_employment)
                            - safe_ratio(b.national_employment, b0.national_employment)) AS shift_industry_mix,
           b.employment - b0.employment * safe_ratio(b.national_sector_employment, b0.national_sector_employment)
               AS shift_regional
    FROM base b
    LEFT JOIN base b0
        ON b0.region_code = b.region_code AND b0.sector_code = b.sector_code AND b0.year = b.year - $growth_years
),
-- US Cluster Mapping Project thresholds per class and year, over the provinces with
-- employment > 0 and a computable LQ; quantile_cont interpolates linearly between order
-- statistics at (n - 1) q, as numpy's default (R type 7) that kume uses.
cmp_thresholds AS (
    SELECT sector_code, year,
           quantile_cont(lq_employment, [0.25, 0.5, 0.75, 0.9]) AS p_lq,
           quantile_cont(employment, 0.25) AS p25_employment,
           quantile_cont(establishments, 0.25) AS p25_establishments
    FROM indicators
    WHERE employment > 0 AND lq_employment IS NOT NULL
    GROUP BY ALL
),
cmp AS (
    SELECT i.*,
           coalesce(i.employment > c.p25_employment AND i.establishments > c.p25_establishments, false) AS size_ok,
           c.p_lq
    FROM indicators i LEFT JOIN cmp_thresholds c USING (sector_code, year)
)
SELECT region_code AS plate_code, p.name_tr AS province, sector_code, year,
       employment, establishments,
       region_employment, national_sector_employment, national_employment,
       lq_employment, lq_establishments, focus, national_share, avg_firm_size,
       growth_years, employment_cagr, national_sector_employment_cagr,
       shift_national, shift_industry_mix, shift_regional,
       -- A province with no employment in the class is not a cluster (false); one whose LQ
       -- cannot be computed is null; else LQ above the percentile (P75/P90 also LQ >= 1) and
       -- employment and workplaces both above their P25.
       CASE WHEN NOT coalesce(employment > 0, false) THEN false WHEN lq_employment IS NULL THEN NULL
            ELSE lq_employment > p_lq[1] AND size_ok END AS cmp_qualifying,
       CASE WHEN NOT coalesce(employment > 0, false) THEN false WHEN lq_employment IS NULL THEN NULL
            ELSE lq_employment > p_lq[2] AND size_ok END AS cmp_significant,
       CASE WHEN NOT coalesce(employment > 0, false) THEN false WHEN lq_employment IS NULL THEN NULL
            ELSE lq_employment >= p_lq[3] AND lq_employment >= 1 AND size_ok END AS cmp_strong,
       CASE WHEN NOT coalesce(employment > 0, false) THEN false WHEN lq_employment IS NULL THEN NULL
            ELSE lq_employment >= p_lq[4] AND lq_employment >= 1 AND size_ok END AS cmp_strong10
FROM cmp
LEFT JOIN provinces p ON p.plate_code = cmp.region_code
ORDER BY plate_code, sector_code, year;
