"""Five-keyword descriptions of the 57 MMLU subjects, used as task names in capability cards, and of
MMLU-Pro's own problem categories (its STEM-website, TheoremQA and SciBench questions).

Example:
    SUBJECT_KEYWORDS["mmlu/medical_genetics"]  # 'Genetics, Mutations, Inheritance, Chromosomes, Disease'
    task_description("mmlu-pro/physics")  # 'Physics problems, Calculation, Mechanics, ...'
"""

SUBJECT_KEYWORDS: dict[str, str] = {
    "mmlu/abstract_algebra": "Groups, Rings, Fields, Homomorphisms, Permutations",
    "mmlu/anatomy": "Human body, Organs, Bones, Muscles, Nerves",
    "mmlu/astronomy": "Planets, Stars, Galaxies, Orbits, Telescopes",
    "mmlu/business_ethics": "Corporate responsibility, Stakeholders, Fair trade, Governance, Ethics",
    "mmlu/clinical_knowledge": "Patient care, Diagnosis, Symptoms, Clinical procedures, Nursing",
    "mmlu/college_biology": "Cells, Evolution, Metabolism, Molecular biology, Ecology",
    "mmlu/college_chemistry": "Thermodynamics, Reaction kinetics, Spectroscopy, Quantum chemistry, Equilibria",
    "mmlu/college_computer_science": "Algorithms, Complexity, Data structures, Automata, Programming",
    "mmlu/college_mathematics": "Calculus, Linear algebra, Probability, Number theory, Proofs",
    "mmlu/college_medicine": "Physiology, Biochemistry, Pharmacology, Pathology, Medicine",
    "mmlu/college_physics": "Mechanics, Electromagnetism, Relativity, Quantum physics, Waves",
    "mmlu/computer_security": "Cryptography, Malware, Network attacks, Authentication, Vulnerabilities",
    "mmlu/conceptual_physics": "Forces, Energy, Motion, Heat, Light",
    "mmlu/econometrics": "Regression, Time series, Estimators, Hypothesis tests, Stationarity",
    "mmlu/electrical_engineering": "Circuits, Signals, Power systems, Electronics, Control",
    "mmlu/elementary_mathematics": "Arithmetic, Fractions, Word problems, Geometry basics, Percentages",
    "mmlu/formal_logic": "Propositional logic, Predicate logic, Validity, Symbolization, Proofs",
    "mmlu/global_facts": "World statistics, Demographics, Global economy, Surveys, Trends",
    "mmlu/high_school_biology": "Genetics, Cells, Photosynthesis, Evolution, Ecosystems",
    "mmlu/high_school_chemistry": "Atoms, Bonding, Stoichiometry, Acids and bases, Periodic table",
    "mmlu/high_school_computer_science": "Programming basics, Boolean logic, Loops, Binary numbers, Algorithms",
    "mmlu/high_school_european_history": "Renaissance, Reformation, Revolutions, Empires, World wars",
    "mmlu/high_school_geography": "Population, Migration, Urbanization, Climate, Cultural regions",
    "mmlu/high_school_government_and_politics": "Constitution, Congress, Elections, Civil rights, Federalism",
    "mmlu/high_school_macroeconomics": "GDP, Inflation, Monetary policy, Fiscal policy, Unemployment",
    "mmlu/high_school_mathematics": "Algebra, Functions, Geometry, Trigonometry, Equations",
    "mmlu/high_school_microeconomics": "Supply and demand, Elasticity, Market structures, Costs, Consumer choice",
    "mmlu/high_school_physics": "Kinematics, Newton's laws, Circuits, Energy, Waves",
    "mmlu/high_school_psychology": "Behavior, Memory, Development, Cognition, Disorders",
    "mmlu/high_school_statistics": "Sampling, Distributions, Hypothesis testing, Regression, Probability",
    "mmlu/high_school_us_history": "American colonies, Civil War, Reconstruction, New Deal, Civil rights movement",
    "mmlu/high_school_world_history": "Civilizations, Colonialism, Industrialization, Trade routes, Revolutions",
    "mmlu/human_aging": "Aging, Gerontology, Dementia, Longevity, Elder care",
    "mmlu/human_sexuality": "Sexual behavior, Reproduction, Gender identity, Relationships, Sexual health",
    "mmlu/international_law": "Treaties, Sovereignty, Human rights, State responsibility, International courts",
    "mmlu/jurisprudence": "Legal theory, Natural law, Positivism, Justice, Rights",
    "mmlu/logical_fallacies": "Arguments, Fallacies, Reasoning errors, Rhetoric, Critical thinking",
    "mmlu/machine_learning": "Neural networks, Supervised learning, Optimization, Generalization, Probabilistic models",
    "mmlu/management": "Organizations, Leadership, Strategy, Planning, Human resources",
    "mmlu/marketing": "Consumers, Branding, Advertising, Pricing, Market research",
    "mmlu/medical_genetics": "Genetics, Mutations, Inheritance, Chromosomes, Genetic disease",
    "mmlu/miscellaneous": "General knowledge, Trivia, Culture, Everyday facts, Geography",
    "mmlu/moral_disputes": "Ethical debates, Moral arguments, Abortion, Euthanasia, Applied ethics",
    "mmlu/moral_scenarios": "Moral judgment, Everyday actions, Right and wrong, Norms, Scenarios",
    "mmlu/nutrition": "Diet, Vitamins, Metabolism, Nutrients, Health",
    "mmlu/philosophy": "Metaphysics, Epistemology, Ethics, Philosophers, Arguments",
    "mmlu/prehistory": "Archaeology, Early humans, Stone age, Ancient cultures, Human evolution",
    "mmlu/professional_accounting": "Financial statements, Auditing, Taxation, Accounting standards, Costing",
    "mmlu/professional_law": "Contracts, Torts, Criminal law, Evidence, Constitutional law",
    "mmlu/professional_medicine": "Diagnosis, Treatment, Clinical cases, Pharmacotherapy, Pathophysiology",
    "mmlu/professional_psychology": "Psychological assessment, Therapy, Ethics codes, Research methods, Disorders",
    "mmlu/public_relations": "Communication, Media relations, Reputation, Campaigns, Publics",
    "mmlu/security_studies": "International security, War, Deterrence, Terrorism, Strategic studies",
    "mmlu/sociology": "Society, Social structures, Inequality, Institutions, Culture",
    "mmlu/us_foreign_policy": "Diplomacy, Foreign relations, Cold War, Alliances, National interest",
    "mmlu/virology": "Viruses, Infection, Epidemiology, Immunity, Vaccines",
    "mmlu/world_religions": "Christianity, Islam, Hinduism, Buddhism, Religious traditions",
}

OTHER_TASK_KEYWORDS: dict[str, str] = {
    "mmlu-pro/biology": "Biology problems, Genetics calculations, Physiology, Cell biology, Ecology",
    "mmlu-pro/business": "Business problems, Interest calculation, Accounting, Finance, Pricing",
    "mmlu-pro/chemistry": "Chemistry problems, Stoichiometry calculation, Thermochemistry, Kinetics, Equilibrium",
    "mmlu-pro/computer science": "Computer science problems, Algorithms, Computation, Number systems, Theory",
    "mmlu-pro/economics": "Economics problems, Supply and demand, Elasticity, Macroeconomics, Calculation",
    "mmlu-pro/engineering": "Engineering problems, Heat transfer, Fluid mechanics, Circuits, Calculation",
    "mmlu-pro/math": "Math problems, Theorems, Calculus, Differential equations, Calculation",
    "mmlu-pro/physics": "Physics problems, Calculation, Mechanics, Electromagnetism, Thermodynamics",
    "mmlu-pro/psychology": "Psychology problems, Experiments, Statistics, Behaviour, Research methods",
    "mmlu": "General knowledge exam, Multiple choice, Humanities, Sciences, Professional subjects",
    "cmmlu": "Chinese exam questions, Multiple choice, Chinese culture, Chinese law, Sciences",
    "ceval": "Chinese exam questions, Multiple choice, Professional qualifications, Sciences, Humanities",
    "gsm8k": "Math word problems, Arithmetic, Multi-step reasoning, Money, Quantities",
    "math-prealgebra": "Math problems, Prealgebra, Fractions, Number theory, Geometry",
    "arc-challenge": "Grade-school science questions, Multiple choice, Physics, Earth science, Biology",
    "humaneval": "Python functions from docstrings, Code generation, Strings, Lists, Algorithms",
    "mbpp": "Python functions from a description, Code generation, Strings, Lists, Algorithms",
    "alpaca-eval/helpful_base": "Open-ended chat, Helpful answers, Everyday questions, Advice, Explanations",
    "alpaca-eval/koala": "Open-ended chat, User questions, Coding help, Writing, Explanations",
    "alpaca-eval/oasst": "Open-ended chat, Assistant conversations, Writing, Coding help, Knowledge",
    "alpaca-eval/selfinstruct": "Open-ended instructions, Writing tasks, Rewriting, Classification, Generation",
    "alpaca-eval/vicuna": "Open-ended chat, Creative writing, Role play, Reasoning, Knowledge",
}


def task_description(task: str) -> str:
    """A task's card description: its keywords, else its name in words ("arc-challenge" -> "Arc challenge")."""
    known = SUBJECT_KEYWORDS.get(task) or OTHER_TASK_KEYWORDS.get(task)
    if known:
        return known
    return task.split("/")[-1].replace("_", " ").replace("-", " ").capitalize()
