"""English journal text (written for this project): a four-page pictorial review of renal ultrasound.

A "\\n" inside a paragraph forces a line break. Two of them put "Figure 1)." and "(Figure 2)" at the start of a
body line, which a caption detector must not take for captions.
"""

from __future__ import annotations

JOURNAL = "Journal of Diagnostic Sonography Teaching"
CITATION = "J Diagn Sonogr Teach 2024; 12: 101\u2013104"
LICENCE = "Open access under CC BY 4.0"
FIRST_PAGE = 101
TITLE = "Sonography of the Kidney: A Pictorial Review of Common Findings"
AUTHORS = "Wei Zhang, Emily R. Carter and Hannah Okafor"
AFFILIATION = "Department of Diagnostic Ultrasound, Riverside Teaching Hospital"
ABSTRACT = (
    "Renal ultrasound is the first imaging test for most kidney complaints. This review illustrates the normal "
    "sonographic anatomy, simple and complex cysts, hydronephrosis, calculi and the basics of renal Doppler, and "
    "gives the measurements and criteria that a report should contain."
)

INTRO = (
    "Ultrasound is the first-line imaging test for most renal complaints. It is quick, free of ionising radiation "
    "and available at the bedside, and a systematic examination answers the common clinical questions: is the "
    "kidney present and of normal size, is the collecting system dilated, and is there a focal lesion that needs "
    "further work-up?",
    "Each kidney is examined in longitudinal and transverse planes, using the liver or the spleen as an acoustic "
    "window. The bipolar length is measured on the longest longitudinal image, with the calipers on the outer "
    "margins of the upper and lower poles (see\nFigure 1). The normal adult length is 10\u201312 cm, and a "
    "difference of more than 2 cm between the two sides deserves comment.",
)
FIG1 = (
    "Longitudinal sonogram of a normal right kidney obtained with a 5\u20131 MHz curved array. The calipers mark "
    "the bipolar length ({dist}); the cortex is hypoechoic relative to the adjacent liver and the central sinus "
    "is echogenic."
)
ANATOMY = (
    "The renal capsule is a thin echogenic line. The cortex is normally hypoechoic or isoechoic to the liver; "
    "cortical echogenicity greater than that of the liver in an adult suggests medical renal disease. The "
    "medullary pyramids are hypoechoic triangles arranged around the echogenic renal sinus, which contains fat, "
    "vessels and the collecting system.",
    "Corticomedullary differentiation is best seen with a high-frequency probe in slim patients and is lost in "
    "many chronic nephropathies. Parenchymal thickness, measured from the sinus fat to the capsule, is normally "
    "1.5\u20132.0 cm and decreases with age.",
    "Both kidneys move with respiration. Scanning in deep inspiration brings the upper pole below the ribs, and "
    "an intercostal approach is often the only way to see the upper pole of the left kidney.",
    "In the neonate the cortex is relatively echogenic and the pyramids are large and strikingly hypoechoic, a "
    "normal appearance that should not be mistaken for hydronephrosis or medullary nephrocalcinosis.",
)
FIG2_TITLE = "Simple renal cyst."
FIG2_PANELS = (
    "(a) Longitudinal view of the upper pole shows a round anechoic lesion with an imperceptible wall",
    "(b) Transverse view of the same cyst with posterior acoustic enhancement and thin edge shadows",
    "(c) Colour Doppler shows no internal flow and normal interlobar vessels",
    "(d) A second patient: bipolar length {dist}, with a small cortical cyst at the upper pole",
)
CYSTS = (
    "Simple cysts are found in about half of adults over 50 years of age. The diagnostic criteria are an anechoic "
    "lumen, a thin smooth wall, a sharp back wall and posterior acoustic enhancement (Fig. 2b). When all are met, "
    "no follow-up is needed.",
    "Thin septa or a few fine calcifications do not change management, but thick or nodular septa, mural nodules "
    "and internal vascularity must be reported because they raise the Bosniak category. Colour Doppler is added "
    "for every cyst\n(Figure 2) and contrast-enhanced ultrasound is the next step when a solid component is "
    "suspected.",
    "Parapelvic cysts lie in the renal sinus and can mimic hydronephrosis. Unlike a dilated collecting system, "
    "they do not communicate with each other or with the renal pelvis, which is best shown by sweeping through the "
    "sinus in two planes.",
    "The Bosniak classification, developed for computed tomography, is increasingly applied to ultrasound and "
    "contrast-enhanced ultrasound. Category I and II cysts are benign, category IIF cysts need follow-up imaging, "
    "and category III and IV lesions are usually treated.",
)
HYDRO = (
    "Dilatation of the collecting system appears as anechoic branching spaces that connect with a dilated renal "
    "pelvis. Grading should describe calyceal dilatation and parenchymal thinning rather than rely on the pelvic "
    "diameter alone, and the ureter and bladder should be examined to find the level of obstruction.",
    "An extrarenal pelvis, a full bladder and pregnancy may all produce mild dilatation without obstruction; "
    "scanning again after voiding avoids many false-positive reports.",
    "Resistive index measurement in the interlobar arteries has been used to support the diagnosis of acute "
    "obstruction, but values overlap widely and the test is rarely decisive on its own.",
    "In children, the anteroposterior diameter of the renal pelvis is measured on a transverse image at the hilum, "
    "and the urinary tract dilatation classification combines it with calyceal, parenchymal, ureteric and bladder "
    "findings.",
    "Obstruction at the pelviureteric junction is the commonest cause of congenital hydronephrosis: the renal "
    "pelvis is markedly dilated while the ureter is not seen. In adults, calculi, tumours and extrinsic compression "
    "by pelvic masses are more frequent, and the dilated ureter can often be followed down to the obstructing "
    "lesion.",
    "Ureteric jets are seen on colour Doppler as bursts of colour entering the bladder from the ureteric orifices. "
    "A persistently absent jet on one side over several minutes supports high-grade obstruction, whereas "
    "symmetrical jets make it unlikely.",
    "Pyonephrosis should be suspected when the dilated collecting system contains mobile low-level echoes or a "
    "fluid-debris level in a febrile patient; it is an emergency that needs prompt drainage.",
)
FIG3 = (
    " | Colour Doppler image of the interlobar arteries. Flow towards the transducer is coded red and flow away "
    "from it blue; the velocity scale is shown on the left."
)
VASCULAR = (
    "Colour Doppler shows the interlobar and arcuate arteries as they run between the pyramids towards the cortex. "
    "A low pulse repetition frequency and a small colour box improve sensitivity to the slow flow of the cortical "
    "vessels.",
    "Spectral Doppler of the main renal artery is used to screen for stenosis: a peak systolic velocity above "
    "180\u2013200 cm/s and a renal-to-aortic velocity ratio above 3.5 are the usual criteria. Intrarenal "
    "waveforms with a prolonged acceleration time support the diagnosis.",
    "The renal veins are followed to the inferior vena cava. Absent venous flow, an enlarged oedematous kidney "
    "and a raised arterial resistive index suggest renal vein thrombosis, most often seen in nephrotic syndrome "
    "and after transplantation.",
    "In renal transplants, Doppler is part of every early examination. The resistive index is normally below 0.8; "
    "higher values are non-specific and occur with acute rejection, acute tubular necrosis, obstruction and "
    "perinephric collections.",
    "Arteriovenous fistulas after biopsy appear as a focal area of colour aliasing with a tissue vibration "
    "artefact, and the feeding artery shows high-velocity, low-resistance flow.",
)
VARIANTS = (
    "Knowledge of the anatomy is the basis of interpretation. The kidney lies in perirenal fat within the renal "
    "fascia; the hilum faces anteromedially and contains, from front to back, the renal vein, the renal artery "
    "and the renal pelvis (Figure 4).",
    "Anatomical variants such as a column of Bertin, a dromedary hump or fetal lobulation are common and must not "
    "be mistaken for a mass: each has the same echogenicity and vascular pattern as normal cortex.",
    "A duplex kidney shows two separate sinus echo complexes divided by a band of parenchyma; the upper moiety may "
    "be hydronephrotic when its ureter inserts ectopically or ends in a ureterocele.",
    "A horseshoe kidney is recognised by the low position of both kidneys and the isthmus of parenchyma crossing "
    "in front of the aorta; the lower poles are medially rotated and difficult to measure.",
    "Renal ectopia or agenesis is considered when a kidney is not found in the renal fossa: the pelvis and the "
    "contralateral side are searched before the kidney is reported absent.",
)
FIG4 = (
    "Schematic of renal anatomy on a longitudinal section: cortex, medulla, renal pelvis, ureter, renal artery "
    "and renal vein."
)
CALCULI = (
    "Renal calculi are echogenic foci with a clean posterior acoustic shadow (Fig. 6a). Small stones may not "
    "shadow, especially with a low-frequency probe; raising the frequency and placing the focal zone at the level "
    "of the stone helps.",
    "The twinkling artefact, a rapidly changing mixture of colours behind a rough reflector on colour Doppler "
    "(Fig. 6b), is a useful sign of small stones, although it also occurs with other calcifications.",
)
FIG6 = (
    "Fig. 6a Echogenic calculus in the renal sinus with a clean posterior acoustic shadow.",
    "Fig. 6b Twinkling artefact behind the same calculus on colour Doppler.",
)
POSITIONING = (
    "No preparation is needed for the kidneys, but a moderately full bladder allows the distal ureters and the "
    "bladder wall to be assessed at the same visit. The right kidney is scanned through the liver with the patient "
    "supine or in the left lateral decubitus position, and the left kidney through the spleen in the right lateral "
    "decubitus position (Figure 5).",
)
FIG5 = (
    "Patient positioning for the right kidney: left lateral decubitus with the arm raised to open the intercostal "
    "spaces."
)
NOTE = (
    "Conflict of interest: none declared. This article is a synthetic teaching sample generated by remud-gen for "
    "software testing; the images are simulated."
)
